#!/usr/bin/env bash
# Make the real test peers available on a Debian 12 machine: Dovecot (IMAP + submission), promtool /
# prometheus, openssl, chromium (the console's browser tests), and a MariaDB answering on
# 127.0.0.1:3306 as root with no password.
# Idempotent; installs only what is missing (needs root for that). Run by `npm test` (pretest).
# The packages' own services are left as the system has them; tests start private instances.
# Exits non-zero when a peer is still missing and CI=true; otherwise warns and lets the tests skip.
set -uo pipefail

PATH="$PATH:/usr/sbin:/sbin"
MYSQL_HOST=127.0.0.1
MYSQL_PORT=3306
problems=()

have() { command -v "$1" >/dev/null 2>&1; }
say() { echo "[test-peers] $*"; }

is_root() { [ "$(id -u)" = 0 ]; }

install_missing() {
  local pkgs=()
  have dovecot && have doveadm || pkgs+=(dovecot-imapd)
  [ -x /usr/lib/dovecot/submission ] || pkgs+=(dovecot-submissiond)
  # The delivery round trip's tests deliver into Dovecot over LMTP.
  [ -x /usr/lib/dovecot/lmtp ] || pkgs+=(dovecot-lmtpd)
  have promtool && have prometheus || pkgs+=(prometheus)
  have mariadbd || pkgs+=(mariadb-server)
  have openssl || pkgs+=(openssl)
  # Peers of `npm run bench` (its --quick smoke run is in .ci/run).
  have prometheus-blackbox-exporter || pkgs+=(prometheus-blackbox-exporter)
  [ -x /usr/lib/nagios/plugins/check_simap ] || pkgs+=(monitoring-plugins-basic)
  [ -x /usr/bin/time ] || pkgs+=(time)
  have chromium || pkgs+=(chromium)
  [ ${#pkgs[@]} -eq 0 ] && return 0
  if ! is_root || ! have apt-get; then
    say "missing packages: ${pkgs[*]} (run this script as root on Debian to install them)"
    return 0
  fi
  say "installing: ${pkgs[*]}"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null; }; then
    problems+=("apt-get install ${pkgs[*]} failed")
  fi
}

# The server answers on TCP (even if it would refuse our login).
mysql_answers() { (exec 3<>"/dev/tcp/$MYSQL_HOST/$MYSQL_PORT") 2>/dev/null; }

# What the tests need: root, no password, over TCP.
mysql_login() {
  if have mariadb; then
    mariadb --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" -uroot --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1
  else
    mysql_answers # no client to check with; the tests will tell
  fi
}

start_mariadb() {
  mysql_answers && return 0
  if ! have mariadbd; then
    problems+=("MariaDB is not installed and nothing answers on $MYSQL_HOST:$MYSQL_PORT")
    return 0
  fi
  if ! is_root; then
    problems+=("MariaDB does not answer on $MYSQL_HOST:$MYSQL_PORT (start it as root: sudo bash $0)")
    return 0
  fi
  # A fresh install may lack the system tables; unix_socket auth lets root in without a password.
  if [ ! -d /var/lib/mysql/mysql ]; then
    say "initialising /var/lib/mysql"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null 2>&1 ||
      problems+=("mariadb-install-db failed")
  fi
  install -d -o mysql -g mysql /run/mysqld 2>/dev/null || mkdir -p /run/mysqld
  say "starting mariadbd"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- \
    --user=mysql --bind-address="$MYSQL_HOST" --port="$MYSQL_PORT"
  for _ in $(seq 1 60); do
    mysql_answers && break
    sleep 0.5
  done
  if ! mysql_answers; then
    problems+=("mariadbd started but $MYSQL_HOST:$MYSQL_PORT did not answer within 30 s")
  fi
}

# The tests log in over TCP as root with no password. A fresh Debian MariaDB authenticates root by
# unix_socket only; allow the empty password too (test machines only).
allow_root_tcp_login() {
  mysql_answers || return 0
  mysql_login && return 0
  have mariadb && is_root || return 0
  say "allowing root@localhost to log in over TCP without a password"
  mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')" ||
    problems+=("could not enable TCP root login on MariaDB")
}

install_missing
start_mariadb
allow_root_tcp_login

status() { if eval "$2"; then echo "$1 yes"; else echo "$1 MISSING"; fi; }
summary=(
  "$(status dovecot 'have dovecot && have doveadm')"
  "$(status submission '[ -x /usr/lib/dovecot/submission ]')"
  "$(status lmtp '[ -x /usr/lib/dovecot/lmtp ]')"
  "$(status promtool 'have promtool')"
  "$(status prometheus 'have prometheus')"
  "$(status openssl 'have openssl')"
  "$(status chromium 'have chromium')"
  "$(status "mariadb@$MYSQL_HOST:$MYSQL_PORT" 'mysql_login')"
)
say "peers: $(
  IFS=,
  echo "${summary[*]}" | sed 's/,/, /g'
)"
for s in "${summary[@]}"; do
  case "$s" in *MISSING) problems+=("${s% MISSING} is missing") ;; esac
done

if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do say "problem: $p"; done
  if [ "${CI:-}" = true ]; then
    say "CI=true: failing because test peers are missing"
    exit 1
  fi
  say "continuing: suites that need a missing peer will be SKIPPED (they fail when CI=true)"
fi
exit 0
