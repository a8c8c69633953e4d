#!/bin/sh
# Stands in for MySQL 5.7's entrypoint: refuses to start without a root password option, as MySQL does,
# creates MYSQL_DATABASE, logs "ready for connections", then accepts TCP connections on 3306 (each gets a
# one-line greeting naming the server and its databases).
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z) 0 [$1] $2"; }
if [ "$1" != mysqld ]; then exec "$@"; fi
if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] && [ -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
  log ERROR "[Entrypoint]: Database is uninitialized and password option is not specified" >&2
  echo "    You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD" >&2
  exit 1
fi
mkdir -p /var/lib/mysql/mysql
log Note "[Entrypoint]: Entrypoint script for MySQL Server 5.7.44 started."
if [ -n "$MYSQL_DATABASE" ]; then
  mkdir -p "/var/lib/mysql/$MYSQL_DATABASE"
  log Note "[Entrypoint]: Creating database $MYSQL_DATABASE"
fi
[ -n "$MYSQL_USER" ] && log Note "[Entrypoint]: Creating user $MYSQL_USER"
log Note "mysqld: ready for connections."
echo "Version: '5.7.44'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server (GPL)"
exec /usr/lib/kubelab/serve-tcp 3306 /usr/local/bin/mysql-greeting
