#!/bin/sh
# Stands in for Apache httpd: serves /var/www/html on port 80 with busybox httpd.
trap 'exit 0' TERM INT QUIT WINCH
echo "AH00558: httpd: Apache/2.4 (kubelab offline image) started, serving /var/www/html on port 80" >&2
httpd -f -v -p 80 -h /var/www/html &
wait $!
