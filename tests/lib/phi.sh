# tests/lib/phi.sh -- TLS and data-at-rest encryption for the private
# MariaDB servers of tests/lib/mariadb.sh (source that first), for the
# tests that check how zoom_events protects PHI.  Source it from bash.
#
#   ze_make_db_certs DIR [CN]
#       make a private CA, a server certificate for CN (default localhost:
#       SAN DNS:localhost,IP:127.0.0.1; any other CN: SAN DNS:CN only;
#       EKU serverAuth+clientAuth, as Galera and SST peers use it both ways), a
#       client certificate, and a second unrelated CA (for "wrong CA" tests):
#         DIR/ca.pem DIR/ca-key.pem                   the CA
#         DIR/server-cert.pem DIR/server-key.pem      server, signed by ca.pem
#         DIR/client-cert.pem DIR/client-key.pem      client, signed by ca.pem
#         DIR/other-ca.pem DIR/other-ca-key.pem       the unrelated CA
#         DIR/other-server-cert.pem DIR/other-server-key.pem
#                                       a server cert for CN from other-ca.pem
#       EC P-256 keys, valid 10 years.  Keys are 0600 and owned by the
#       caller, who is also the user mariadbd runs as (--user=$(id -un));
#       ZE_CERT_OWNER=mysql chowns them (for servers run as mysql, e.g.
#       deploy/cluster/cluster.sh as root).  DIR and its parents must be
#       searchable by that user.  ZE_CERT_SAN overrides the server
#       certificate's subjectAltName.
#
#   ze_db_start_tls DIR PORT CERTDIR
#       ze_db_start DIR PORT with ssl_cert/ssl_key/ssl_ca from CERTDIR; with
#       ZE_DB_REQUIRE_TLS=1 also require_secure_transport=ON (TCP clients
#       must use TLS; the Unix socket, which ze_db_sql uses, still works).
#
#   ze_db_sql_tls DIR PORT CERTDIR [HOST [CA]] [-- ARGS...]
#       the mariadb client as root over TCP to HOST (default localhost) with
#       --ssl-verify-server-cert and CA (default CERTDIR/ca.pem).
#
#   ze_db_start_encrypted DIR [PORT]
#       a private server with data-at-rest encryption (file_key_management,
#       encrypted redo log, tables, temporary tables and files, binlog, Aria
#       tables).  Not encrypted: the Aria log (aria_log.*: rows of
#       transactional Aria tables are there in clear), error/general/slow
#       logs, .frm files.  Keep PHI in InnoDB tables only.
#       The key file is DIR/keys/keyfile (lines "id;hex"), encrypted to
#       DIR/keys/keyfile.enc with the password in DIR/keys/keyfile.key
#       unless ZE_DB_KEYFILE_PLAIN=1.  ZE_DB_ENCRYPT_TABLES=FORCE (default)
#       or ON.  The data directory is initialised with the same options, so
#       that the system tables are created encrypted too.  tmpdir is DIR/tmp.
#
#   ze_file_has STRING FILE...
#       print how many of the FILEs (binary or text; missing ones are
#       skipped) contain STRING, and name them on stderr.  For "the
#       plaintext is not on disk" checks.
#
# Extra options still go through ZE_DB_OPTS (word-split: no spaces in
# paths).  Nothing outside DIR / CERTDIR is touched.

# ze_make_db_certs DIR [CN]
ze_make_db_certs() {
    local dir=$1 cn=${2:-localhost} san days=3650
    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd)
    if [ -n "${ZE_CERT_SAN:-}" ]; then
        san=$ZE_CERT_SAN
    elif [ "$cn" = localhost ]; then
        san="DNS:localhost,IP:127.0.0.1"
    else
        san="DNS:$cn"
    fi
    # Our own config, so that the system openssl.cnf cannot add or
    # change extensions.
    cat >"$dir/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $san
[v3_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    (
        set -e
        umask 077
        cd "$dir"
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        ca() { # ca NAME SUBJECT
            key "$1-key.pem"
            openssl req -config openssl.cnf -new -x509 -days "$days" -sha256 \
                -key "$1-key.pem" -subj "$2" -extensions v3_ca -out "$1.pem"
        }
        leaf() { # leaf NAME SUBJECT EXT CA
            key "$1-key.pem"
            openssl req -config openssl.cnf -new -key "$1-key.pem" -subj "$2" \
                -out "$1.csr"
            openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4-key.pem" \
                -set_serial "0x$(openssl rand -hex 12)" -days "$days" -sha256 \
                -extfile openssl.cnf -extensions "$3" -out "$1-cert.pem" 2>/dev/null
            rm -f "$1.csr"
        }
        ca ca "/O=zoom_events test/CN=zoom_events test CA"
        leaf server "/O=zoom_events test/CN=$cn" v3_server ca
        leaf client "/O=zoom_events test/CN=zoom_events client" v3_client ca
        ca other-ca "/O=zoom_events other/CN=zoom_events unrelated CA"
        leaf other-server "/O=zoom_events other/CN=$cn" v3_server other-ca
        chmod 0644 ./*.pem
        chmod 0600 ./*-key.pem
        chmod 0755 .
        if [ -n "${ZE_CERT_OWNER:-}" ]; then
            chown "$ZE_CERT_OWNER" ./*-key.pem
        fi
    ) || {
        echo "ze_make_db_certs: openssl failed in $dir" >&2
        return 1
    }
}

# ze_db_start_tls DIR PORT CERTDIR
ze_db_start_tls() {
    local dir=$1 port=$2 certs=$3 opts
    certs=$(cd "$certs" && pwd) || return 1
    opts="--ssl-cert=$certs/server-cert.pem --ssl-key=$certs/server-key.pem"
    opts="$opts --ssl-ca=$certs/ca.pem"
    if [ "${ZE_DB_REQUIRE_TLS:-0}" = 1 ]; then
        opts="$opts --require-secure-transport=ON"
    fi
    ZE_DB_OPTS="${ZE_DB_OPTS:-} $opts" ze_db_start "$dir" "$port"
}

# ze_db_sql_tls DIR PORT CERTDIR [HOST [CA]] [-- ARGS...]
ze_db_sql_tls() {
    local dir=$1 port=$2 certs=$3 host=localhost ca
    shift 3
    ca="$certs/ca.pem"
    if [ $# -gt 0 ] && [ "$1" != -- ]; then host=$1; shift; fi
    if [ $# -gt 0 ] && [ "$1" != -- ]; then ca=$1; shift; fi
    [ "${1:-}" = -- ] && shift
    mariadb --no-defaults --protocol=TCP -h "$host" -P "$port" -uroot \
        --ssl --ssl-ca="$ca" --ssl-verify-server-cert "$@"
}

# ze_db_start_encrypted DIR [PORT]
ze_db_start_encrypted() {
    local dir=$1 port=${2:-0} keys opts user
    mkdir -p "$dir/keys" "$dir/tmp" || return 1
    dir=$(cd "$dir" && pwd)
    keys=$dir/keys
    user=$(id -un)
    if [ ! -s "$keys/keyfile" ] && [ ! -s "$keys/keyfile.enc" ]; then
        (
            set -e
            umask 077
            # "id;hexkey": key 1 is the default key (InnoDB, Aria, binlog);
            # key 2, when present, is used for temporary files.
            printf '1;%s\n2;%s\n' "$(openssl rand -hex 32)" \
                "$(openssl rand -hex 32)" >"$keys/keyfile"
            if [ "${ZE_DB_KEYFILE_PLAIN:-0}" != 1 ]; then
                openssl rand -hex 64 >"$keys/keyfile.key"
                # The plugin decrypts with EVP_BytesToKey(SHA1, 1 round),
                # i.e. "openssl enc -aes-256-cbc -md sha1" without -pbkdf2.
                openssl enc -aes-256-cbc -md sha1 -pass "file:$keys/keyfile.key" \
                    -in "$keys/keyfile" -out "$keys/keyfile.enc" 2>/dev/null
                rm -f "$keys/keyfile"
            fi
        ) || {
            echo "ze_db_start_encrypted: cannot make keys in $keys" >&2
            return 1
        }
    fi
    chmod 0700 "$keys" && chmod 0400 "$keys"/keyfile*
    if [ "${ZE_DB_KEYFILE_PLAIN:-0}" = 1 ]; then
        opts="--file-key-management-filename=$keys/keyfile"
    else
        opts="--file-key-management-filename=$keys/keyfile.enc"
        opts="$opts --file-key-management-filekey=FILE:$keys/keyfile.key"
    fi
    opts="--plugin-load-add=file_key_management $opts"
    opts="$opts --file-key-management-encryption-algorithm=AES_CTR"
    opts="$opts --innodb-encrypt-tables=${ZE_DB_ENCRYPT_TABLES:-FORCE}"
    opts="$opts --innodb-encrypt-log=ON --innodb-encrypt-temporary-tables=ON"
    opts="$opts --innodb-encryption-threads=2 --innodb-encryption-rotate-key-age=0"
    opts="$opts --encrypt-tmp-files=ON --encrypt-tmp-disk-tables=ON"
    opts="$opts --encrypt-binlog=ON --log-bin=binlog --server-id=1"
    opts="$opts --aria-encrypt-tables=ON --tmpdir=$dir/tmp"
    if [ ! -d "$dir/data/mysql" ]; then
        # shellcheck disable=SC2086
        mariadb-install-db --no-defaults --datadir="$dir/data" \
            --user="$user" --auth-root-authentication-method=normal \
            --skip-test-db $opts >"$dir/install.log" 2>&1 || {
            cat "$dir/install.log" >&2
            return 1
        }
    fi
    ZE_DB_OPTS="${ZE_DB_OPTS:-} $opts" ze_db_start "$dir" "$port"
}

# ze_file_has STRING FILE...: print how many FILEs contain STRING.
ze_file_has() {
    local s=$1 f n=0
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        # no -a: on binary files -a makes 100 MB "lines" and is 40x slower
        if LC_ALL=C grep -q -F -e "$s" "$f"; then
            n=$((n + 1))
            echo "  plaintext in $f" >&2
        fi
    done
    echo "$n"
}
