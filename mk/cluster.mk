# mk/cluster.mk -- the multi-host topology on one machine (deploy/CLUSTER.md):
# 3 MariaDB Galera nodes, 3 zoom_events worker pools, nginx in front.
#
#   make cluster-up       start it under var/cluster (nginx on 127.0.0.1:24301)
#   make cluster-status   nodes, pools and nginx
#   make cluster-down     stop it; the state stays for the next cluster-up
#   make cluster-clean    stop it and remove var/cluster
#   make test-cluster     the failover tests (tests/cluster/cluster.bats,
#                         about 3 minutes); figures in
#                         var/cluster-test-figures.txt
#
# Needs root (the nodes run as the mysql user), galera-4, rsync, nginx,
# spawn-fcgi, bats, wrk and perl (tests/deps.sh installs them).  With
# SANITIZE=1 the pools run the ASan build.

CLUSTER_SH := deploy/cluster/cluster.sh

.PHONY: cluster-status cluster-clean

cluster-up: all
	ZE_BIN=$(CURDIR)/$(BIN) $(CLUSTER_SH) up

cluster-status:
	$(CLUSTER_SH) status

cluster-down:
	$(CLUSTER_SH) down

cluster-clean:
	$(CLUSTER_SH) clean

test-cluster: all
	ZE_BIN=$(CURDIR)/$(BIN) bats tests/cluster/cluster.bats
