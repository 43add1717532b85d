# mk/install.mk -- make install, make uninstall, make deb.
#
#   make install [DESTDIR=/tmp/root] [PREFIX=/usr] [SYSCONFDIR=/etc]
#                [SYSTEMDUNITDIR=/lib/systemd/system]
#
# FHS paths (defaults with PREFIX=/usr/local):
#   $(SBINDIR)/zoom_events                        0755
#   $(MANDIR)/man8/zoom_events.8.gz               0644 (gzip -9n)
#   $(DATADIR)/sql/*.sql                          0644
#   $(DATADIR)/deploy/{nginx,lighttpd,systemd}/   0644, and the two examples
#   $(SYSCONFDIR)/zoom_events/                    0750
#   $(SYSCONFDIR)/zoom_events/Config.toml.example       0600
#   $(SYSCONFDIR)/zoom_events/zoom-events.env.example   0600
#   $(SYSTEMDUNITDIR)/zoom-events{,-drain,-visits,-purge}.service, .socket,
#                                                 .timer  0644
#
# The unit files name /usr/sbin/zoom_events and /etc/zoom_events; they are
# rewritten for the SBINDIR and SYSCONFDIR given.  Nothing here creates
# users, writes Config.toml or /var/spool/zoom_events: the Debian package's
# postinst does (debian/zoom-events.postinst), or the operator, as
# zoom_events(8) says.
#
#   make deb     the Debian package, built with dpkg-buildpackage from a
#                copy of the tree in build/deb/ (dpkg-buildpackage writes to
#                the parent directory and cleans with `make clean`, neither
#                of which may touch the working tree); the .deb lands in
#                build/.

SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL        ?= install

UNITS := deploy/systemd/zoom-events.service deploy/systemd/zoom-events.socket \
	deploy/systemd/zoom-events-drain.service deploy/systemd/zoom-events-drain.timer \
	deploy/systemd/zoom-events-visits.service deploy/systemd/zoom-events-visits.timer \
	deploy/systemd/zoom-events-purge.service deploy/systemd/zoom-events-purge.timer
WEB_CONFS := deploy/nginx/zoom_events.conf deploy/nginx/zoom_events_locations.conf \
	deploy/lighttpd/zoom_events.conf
SQL_FILES := $(wildcard sql/*.sql)
DEPLOY_DOCS := $(wildcard deploy/*.md)

# sed script for the unit files: the paths they name, as installed.
UNIT_SED := -e 's|/usr/sbin/zoom_events|$(SBINDIR)/zoom_events|g' \
	-e 's|/etc/zoom_events|$(SYSCONFDIR)/zoom_events|g'

.PHONY: install uninstall deb

install: all
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DATADIR)/sql $(DESTDIR)$(DATADIR)/deploy/nginx \
		$(DESTDIR)$(DATADIR)/deploy/lighttpd \
		$(DESTDIR)$(DATADIR)/deploy/systemd $(DESTDIR)$(SYSTEMDUNITDIR)
	$(INSTALL) -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/zoom_events
	$(INSTALL) -m 0755 zoom_events $(DESTDIR)$(SBINDIR)/zoom_events
	gzip -9n -c zoom_events.8 > $(DESTDIR)$(MANDIR)/man8/zoom_events.8.gz
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/zoom_events.8.gz
	$(INSTALL) -m 0644 $(SQL_FILES) $(DESTDIR)$(DATADIR)/sql/
	$(INSTALL) -m 0644 deploy/nginx/*.conf $(DESTDIR)$(DATADIR)/deploy/nginx/
	$(INSTALL) -m 0644 deploy/lighttpd/*.conf $(DESTDIR)$(DATADIR)/deploy/lighttpd/
	$(INSTALL) -m 0644 $(UNITS) $(DESTDIR)$(DATADIR)/deploy/systemd/
	$(INSTALL) -m 0644 deploy/zoom_events.toml.example \
		deploy/zoom-events.env.example $(DEPLOY_DOCS) $(DESTDIR)$(DATADIR)/deploy/
	$(INSTALL) -m 0600 deploy/zoom_events.toml.example \
		$(DESTDIR)$(SYSCONFDIR)/zoom_events/Config.toml.example
	$(INSTALL) -m 0600 deploy/zoom-events.env.example \
		$(DESTDIR)$(SYSCONFDIR)/zoom_events/zoom-events.env.example
	for u in $(UNITS); do \
		sed $(UNIT_SED) $$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; \
	done

# Leaves Config.toml, zoom-events.env, the spool and the user: they are the
# operator's.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/zoom_events $(DESTDIR)$(MANDIR)/man8/zoom_events.8.gz
	for u in $(UNITS); do rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}; done
	rm -f $(DESTDIR)$(SYSCONFDIR)/zoom_events/Config.toml.example \
		$(DESTDIR)$(SYSCONFDIR)/zoom_events/zoom-events.env.example
	rmdir $(DESTDIR)$(SYSCONFDIR)/zoom_events 2>/dev/null || true
	rm -rf $(DESTDIR)$(DATADIR)

# The copy holds what git would commit (tracked and new, not ignored
# files), or, outside a git work tree, everything but build products.
DEB_SRC := build/deb/src
deb:
	rm -rf build/deb
	mkdir -p $(DEB_SRC)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -c -o --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -xf - -C $(DEB_SRC); \
	else \
		tar --exclude=./build --exclude=./var --exclude=./zoom_events \
			--exclude='./debian/zoom-events' --exclude='./debian/.debhelper' \
			-cf - . | tar -xf - -C $(DEB_SRC); \
	fi
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	mv build/deb/*.deb build/
	@ls build/*.deb
