# Sourced by the test set-up scripts: `apt_install PKG...` installs Debian packages as root, or through sudo, after
# one `apt-get update`; it fails with a line saying what is needed when neither is available. Uses the caller's `say`.
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "need root (or sudo) to apt-get install $*"; return 1; }
    sudo="sudo"
  fi
  say "apt-get install $*"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}
