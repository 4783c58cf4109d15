# Shared by the bench scripts (sourced, not run).

# Installs the Debian packages given that are missing (as root, or through sudo).
need_packages() {
  local p sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
      $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$p"; }
  done
}

# N distinct loopback ports nothing listens on (bash's /dev/tcp probe; no
# python needed). Distinct: two picks of one port would collide once bound.
free_ports() {
  local chosen=() p
  while [ ${#chosen[@]} -lt "$1" ]; do
    p=$(( (RANDOM % 12000) + 20000 ))  # below the ephemeral range (32768+)
    [[ " ${chosen[*]} " == *" $p "* ]] && continue
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && continue
    chosen+=("$p")
  done
  echo "${chosen[@]}"
}
