# HTTP/1.1 over stdin/stdout, for request handlers that busybox nc starts once per connection
# (see serve-tcp). Sourced, not run.

# http_read_request: reads the request line into REQUEST_METHOD, REQUEST_PATH and QUERY_STRING, then
# reads the headers up to the blank line so that closing the connection does not reset it.
http_read_request() {
  _cr=$(printf '\r')
  IFS=' ' read -r REQUEST_METHOD REQUEST_TARGET _version || return 1
  REQUEST_PATH=${REQUEST_TARGET%%\?*}
  QUERY_STRING=
  case $REQUEST_TARGET in *\?*) QUERY_STRING=${REQUEST_TARGET#*\?} ;; esac
  while IFS= read -r _line; do
    [ -z "${_line%"$_cr"}" ] && break
  done
  return 0
}

# http_respond STATUS CONTENT_TYPE BODY: writes one whole response and asks the client to close.
http_respond() {
  _length=$(printf '%s' "$3" | wc -c)
  printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' "$1" "$2" "$_length"
  [ "$REQUEST_METHOD" = HEAD ] || printf '%s' "$3"
}

# query_param NAME: prints the URL-decoded value of NAME in QUERY_STRING (empty when absent).
query_param() {
  _rest=$QUERY_STRING
  while [ -n "$_rest" ]; do
    _pair=${_rest%%&*}
    case $_rest in *\&*) _rest=${_rest#*&} ;; *) _rest= ;; esac
    if [ "${_pair%%=*}" = "$1" ]; then
      case $_pair in *=*) httpd -d "${_pair#*=}" ;; esac
      return 0
    fi
  done
}

# client_address: the peer "ip:port" of the connection on stdin, from /proc/net/tcp or tcp6 (an IPv4-mapped
# address there: its last 32 bits), since busybox nc -e tells the handler nothing of its peer.
client_address() {
  _inode=$(readlink /proc/self/fd/0 2>/dev/null)
  _inode=${_inode#"socket:["}
  _inode=${_inode%"]"}
  [ -n "$_inode" ] || return 1
  awk -v inode="$_inode" '$10 == inode { split($3, a, ":"); h = substr(a[1], length(a[1]) - 7);
      printf "%d.%d.%d.%d:%d\n", ("0x" substr(h, 7, 2)) + 0, ("0x" substr(h, 5, 2)) + 0, ("0x" substr(h, 3, 2)) + 0, ("0x" substr(h, 1, 2)) + 0, ("0x" a[2]) + 0; exit }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
