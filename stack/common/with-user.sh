#!/bin/sh
# Entrypoint of the stack's images: the containers run as the workspace owner's uid (so files
# they write into the workspace are the user's, not root's), which has no /etc/passwd entry in
# the image; Java (Hadoop's login), Python (getpass) and Postgres tools need one. Adds it, then
# runs the command.
if ! getent passwd "$(id -u)" >/dev/null 2>&1; then
  echo "datapipeline:x:$(id -u):$(id -g):DataPipeline:${HOME:-/tmp}:/bin/sh" >>/etc/passwd
fi
exec "$@"
