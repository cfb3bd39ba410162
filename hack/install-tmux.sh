#!/usr/bin/env bash
# The terminal tests drive the real binary through tmux. Debian's package is installed when tmux
# is missing (this needs root or passwordless sudo).
source "$(dirname "$0")/lib.sh"

if command -v tmux >/dev/null; then
	log "$(tmux -V) is installed"
	exit 0
fi
log "installing Debian's tmux package"
if [[ $(id -u) == 0 ]]; then
	apt-get install -y -qq tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux >/dev/null; }
else
	sudo -n apt-get install -y -qq tmux >/dev/null || { sudo -n apt-get update -qq && sudo -n apt-get install -y -qq tmux >/dev/null; }
fi
log "$(tmux -V) is installed"
