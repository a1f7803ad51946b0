#!/usr/bin/env bash
# provision.sh: turn a fresh Raspberry Pi OS Bookworm (64-bit, Lite) into an edgehr terminal or booth.
#
#   sudo firmware_scripts/provision.sh --role terminal|booth --release DIR [--config FILE]
#        [--device-id ID] [--device-name NAME] [--ntp SERVER] [--register URL --token-file FILE]
#        [--signing-key FILE]
#
#   --release DIR      a release made by firmware_scripts/make-release (code, model files, wheels); needed
#                      on the first run, later runs keep the installed one (updates: edgehr-update apply)
#   --config FILE      the device configuration to install as /etc/edgehr/device.toml; without it a first
#                      run writes one from the release's example (sync off until the certificate is in)
#   --device-id ID     the id for that written config (default: this host's name)
#   --ntp SERVER       the site's time server for systemd-timesyncd (default: the distribution's pool)
#   --register URL     after making the keys, POST the public keys to URL/api/devices (the HR server);
#   --token-file FILE  with an HR API token of role it or admin read from FILE (never on the command line)
#   --signing-key FILE the release signing PUBLIC key (release-signing.pub from `python -m
#                      fleet.release_signing keygen`): installed as /etc/edgehr/release-signing.pub; the
#                      release and every later update must be signed by it. Without it updates are off.
#
# Idempotent: every step checks first and says "ok" (already so), "changed", or "skipped" with the reason
# (a chroot, no running systemd, not a Raspberry Pi, ...); the last line counts the changes, and a second
# run changes nothing. Run as root.
set -euo pipefail
umask 022

role="" release="" config="" device_id="" device_name="" ntp="" register_url="" token_file="" signing_key=""
here=$(cd "$(dirname "$0")" && pwd)
PREFIX=/opt/edgehr
STATE=/var/lib/edgehr
ETC=/etc/edgehr
UNITS=/etc/systemd/system
changes=0
skipped=()

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role=${2:?}; shift 2 ;;
    --release) release=${2:?}; shift 2 ;;
    --config) config=${2:?}; shift 2 ;;
    --device-id) device_id=${2:?}; shift 2 ;;
    --device-name) device_name=${2:?}; shift 2 ;;
    --ntp) ntp=${2:?}; shift 2 ;;
    --register) register_url=${2:?}; shift 2 ;;
    --token-file) token_file=${2:?}; shift 2 ;;
    --signing-key) signing_key=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "provision: unknown option $1" >&2; usage ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
ok() { printf '  ok       %s\n' "$*"; }
changed() { printf '  changed  %s\n' "$*"; changes=$((changes + 1)); }
skip() { printf '  skipped  %s\n' "$*"; skipped+=("$*"); }
die() { printf 'provision: error: %s\n' "$*" >&2; exit 1; }

case "$role" in terminal|booth) ;; *) echo "provision: --role terminal or --role booth is required" >&2; usage ;; esac
if [ -n "$register_url" ] && [ -z "$token_file" ]; then die "--register needs --token-file FILE (an HR API token of role it or admin)"; fi
[ "$(id -u)" = 0 ] || die "run as root (sudo $0 ...)"

# --- where are we --------------------------------------------------------------------------------------
step "System"
# shellcheck source=/dev/null
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || die "this is ${PRETTY_NAME:-an unknown system}; edgehr provisions Raspberry Pi OS / Debian 12 (bookworm)"
arch=$(dpkg --print-architecture)
systemd_running=0
[ -d /run/systemd/system ] && systemd_running=1
in_chroot=0
if command -v systemd-detect-virt >/dev/null && systemd-detect-virt --quiet --chroot 2>/dev/null; then in_chroot=1; fi
is_pi=0
grep -qs "Raspberry Pi" /proc/device-tree/model && is_pi=1
boot_config=""
for f in /boot/firmware/config.txt /boot/config.txt; do if [ -f "$f" ]; then boot_config=$f; break; fi; done
echo "  ${PRETTY_NAME}, $arch; role $role; systemd running: $systemd_running; chroot: $in_chroot; Raspberry Pi: $is_pi"
[ "$arch" = arm64 ] || skip "not arm64 ($arch): fine for a test root, a terminal runs Raspberry Pi OS 64-bit"

# --- packages ------------------------------------------------------------------------------------------
step "Packages"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -q >/dev/null
    apt_updated=1
  fi
}
available() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}' | grep -qv '(none)'; }
have_lists() { compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; }

# What every device needs: Python 3.11 and its venv, the service manager, time sync, the kiosk browser in
# a Wayland kiosk compositor, a CJK font for zh-CN screens, camera tools, sqlite3 for looking at backups.
# python3-cryptography: edgehr-update checks release signatures with the system's Python, as root.
packages=(python3 python3-venv python3-cryptography ca-certificates systemd systemd-timesyncd dbus util-linux sqlite3 v4l-utils
          cage fonts-wqy-microhei libglib2.0-0)
[ "$role" = booth ] && packages+=(libportaudio2 alsa-utils)
if ! installed chromium && ! installed chromium-browser; then
  have_lists || apt_update
  if available chromium-browser; then packages+=(chromium-browser); else packages+=(chromium); fi
fi
# Only in Raspberry Pi OS's own archive: the camera stack (libcamera, Picamera2) and lgpio for gpiozero.
pi_only=(python3-picamera2 rpicam-apps python3-lgpio)
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${pi_only[@]}"; do
  if installed "$p"; then continue; fi
  have_lists || apt_update
  if available "$p"; then missing+=("$p"); else skip "$p: not in this system's package archives (Raspberry Pi OS only)"; fi
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update
  DEBIAN_FRONTEND=noninteractive timeout 3600 apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  changed "installed ${missing[*]}"
else
  ok "every package is installed"
fi

# --- users ---------------------------------------------------------------------------------------------
step "Users"
ensure_user() {  # name home
  if id -u "$1" >/dev/null 2>&1; then ok "user $1"; return; fi
  useradd --system --user-group --home-dir "$2" --no-create-home --shell /usr/sbin/nologin "$1"
  changed "made system user $1"
}
ensure_groups() {  # user group... (only the groups this system has)
  local user=$1 g have
  shift
  have=" $(id -nG "$user") "
  for g in "$@"; do
    getent group "$g" >/dev/null || continue
    case "$have" in *" $g "*) ;; *) usermod -aG "$g" "$user"; changed "added $user to group $g" ;; esac
  done
}
ensure_user edgehr "$STATE"
ensure_user edgehr-kiosk /var/lib/edgehr-kiosk
# camera (video), GPIO and its chips (gpio), badge readers (input: evdev; dialout: serial)
device_groups=(video gpio input dialout)
[ "$role" = booth ] && device_groups+=(audio)
ensure_groups edgehr "${device_groups[@]}"
ensure_groups edgehr-kiosk video render input

# --- folders and files ---------------------------------------------------------------------------------
step "Folders and configuration"
ensure_dir() {  # path mode owner group
  if [ ! -d "$1" ]; then install -d -m "$2" -o "$3" -g "$4" "$1"; changed "made $1 ($2 $3:$4)"; return; fi
  if [ "$(stat -c '%a %U %G' "$1")" != "${2#0} $3 $4" ]; then
    chmod "$2" "$1"; chown "$3:$4" "$1"; changed "set $1 to $2 $3:$4"
  else
    ok "$1 ($2 $3:$4)"
  fi
}
put_file() {  # source dest mode owner group
  if [ -f "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c '%a %U %G' "$2")" = "${3#0} $4 $5" ]; then ok "$2"; return; fi
  install -m "$3" -o "$4" -g "$5" "$1" "$2"
  changed "installed $2"
}
put_text() {  # dest mode owner group  (content on stdin)
  local tmp
  tmp=$(mktemp)
  cat > "$tmp"
  put_file "$tmp" "$@"
  rm -f "$tmp"
}
ensure_dir "$STATE" 0700 edgehr edgehr
ensure_dir "$STATE/backups" 0700 edgehr edgehr
ensure_dir "$STATE/updates" 0700 edgehr edgehr
ensure_dir /var/lib/edgehr-kiosk 0700 edgehr-kiosk edgehr-kiosk
ensure_dir "$ETC" 0750 root edgehr
ensure_dir "$PREFIX" 0755 root root
ensure_dir /usr/local/lib/edgehr 0755 root root

# --- the release ---------------------------------------------------------------------------------------
step "Release (code, model files, venv)"
put_file "$here/edgehr-update" /usr/local/sbin/edgehr-update 0755 root root
if [ -n "$signing_key" ]; then
  put_file "$signing_key" "$ETC/release-signing.pub" 0644 root root
elif [ ! -f "$ETC/release-signing.pub" ]; then
  skip "release signing key: none given (--signing-key); releases are not checked for origin and update commands are refused"
fi
current=$(readlink "$PREFIX/current" 2>/dev/null || true)
if [ -z "$current" ]; then
  [ -n "$release" ] || die "no release is installed: pass --release DIR (made by firmware_scripts/make-release)"
  version=$(/usr/local/sbin/edgehr-update install --from "$release" --prefix "$PREFIX" 2>&1 | tee /dev/stderr | \
    sed -n 's/^edgehr-update: installing release \([^ ]*\) into.*/\1/p; s/^edgehr-update: release \([^ ]*\) is installed already.*/\1/p')
  [ -n "$version" ] || die "the release in $release did not install (see above)"
  /usr/local/sbin/edgehr-update switch "$version" --prefix "$PREFIX"
  changed "release $version installed in $PREFIX/releases and made current"
else
  ok "release $(basename "$current") is current ($PREFIX/current); updates go through edgehr-update apply"
  if [ -n "$release" ] && [ "$(cat "$release/VERSION" 2>/dev/null)" != "$(basename "$current")" ]; then
    skip "--release $release is another version: run edgehr-update apply --from $release to switch with a health check"
  fi
fi
/usr/local/sbin/edgehr-update verify --prefix "$PREFIX" >/dev/null || die "the current release's files do not match its manifest"
ok "the current release's files (code and models) match their sha256"
app=$PREFIX/current/app
edgehr=$PREFIX/current/venv/bin/edgehr

# --- device configuration ------------------------------------------------------------------------------
if [ -n "$config" ]; then
  put_file "$config" "$ETC/device.toml" 0640 root edgehr
elif [ ! -f "$ETC/device.toml" ]; then
  device_id=${device_id:-$(hostname | tr 'A-Z_.' 'a-z--')}
  device_name=${device_name:-$device_id}
  sed -e "s/^id = .*/id = \"$device_id\"/" -e "s/^name = .*/name = \"$device_name\"/" \
      -e "s/^kind = .*/kind = \"$role\"/" -e "s|^state_dir = .*|state_dir = \"$STATE\"|" \
      -e 's/^enabled = true/enabled = false  # true once keys\/tls.crt, ca_file and server_key_file are in place/' \
      -e "s|^cert_file = .*|cert_file = \"$STATE/keys/tls.crt\"|" -e "s|^key_file = .*|key_file = \"$STATE/keys/tls.key\"|" \
      "$app/device/config/examples/device.toml" | put_text "$ETC/device.toml" 0640 root edgehr
else
  ok "$ETC/device.toml (kept: it is the site's; --config FILE replaces it)"
fi
"$edgehr" config check "$ETC/device.toml" >/dev/null || die "$ETC/device.toml is not valid: edgehr config check $ETC/device.toml"
ok "$ETC/device.toml is valid"

# --- system settings -----------------------------------------------------------------------------------
step "System settings (journald, hardware watchdog, time sync, kiosk browser)"
ensure_dir /etc/systemd/journald.conf.d 0755 root root
put_file "$here/conf/journald.conf" /etc/systemd/journald.conf.d/edgehr.conf 0644 root root
ensure_dir /etc/systemd/system.conf.d 0755 root root
put_file "$here/conf/watchdog.conf" /etc/systemd/system.conf.d/edgehr-watchdog.conf 0644 root root
put_file "$here/conf/kiosk-browser" /usr/local/lib/edgehr/kiosk-browser 0755 root root
if [ -n "$ntp" ]; then
  ensure_dir /etc/systemd/timesyncd.conf.d 0755 root root
  printf '[Time]\nNTP=%s\n' "$ntp" | put_text /etc/systemd/timesyncd.conf.d/edgehr.conf 0644 root root
fi
# Raspberry Pi firmware settings: the camera (libcamera detects the module) and the watchdog device.
if [ -n "$boot_config" ]; then
  for line in camera_auto_detect=1 dtparam=watchdog=on; do
    if grep -q "^${line%%=*}=" "$boot_config" && ! grep -qx "$line" "$boot_config"; then
      sed -i "s/^${line%%=*}=.*/$line/" "$boot_config"; changed "$boot_config: $line (takes effect at the next reboot)"
    elif ! grep -qx "$line" "$boot_config"; then
      echo "$line" >> "$boot_config"; changed "$boot_config: $line (takes effect at the next reboot)"
    else
      ok "$boot_config: $line"
    fi
  done
else
  skip "camera and watchdog firmware settings: no /boot/firmware/config.txt (not a Raspberry Pi boot partition)"
fi

# --- services ------------------------------------------------------------------------------------------
step "Services"
# The kiosk loop, the panel (kiosk page and admin pages) and the courier run as three services sharing SQLite
# (and the kiosk's live socket); edgehr-device.service (all in one process, as the demo runs) is installed
# too but left disabled.
unit_files=(edgehr-terminal.service edgehr-panel.service edgehr-courier.service edgehr-device.service
            edgehr-kiosk-browser.service edgehr-backup.service edgehr-backup.timer edgehr-update-request.path edgehr-update-request.service)
units_changed=$changes
for u in "${unit_files[@]}"; do put_file "$here/systemd/$u" "$UNITS/$u" 0644 root root; done
if [ "$systemd_running" = 1 ] && [ "$changes" != "$units_changed" ]; then systemctl daemon-reload; fi
if [ "$(systemctl is-enabled edgehr-device.service 2>/dev/null || true)" = enabled ]; then
  systemctl disable edgehr-device.service >/dev/null 2>&1 || die "systemctl disable edgehr-device.service failed"
  changed "disabled edgehr-device.service (all in one process): edgehr-terminal, -panel and -courier replace it"
fi
# A booth serves its panel from its own process (device/booth/runner.py): edgehr-panel.service is a terminal's.
enabled_units=(edgehr-terminal.service edgehr-courier.service edgehr-kiosk-browser.service edgehr-backup.timer
               edgehr-update-request.path systemd-timesyncd.service)
[ "$role" = terminal ] && enabled_units+=(edgehr-panel.service)
for u in "${enabled_units[@]}"; do
  if [ "$(systemctl is-enabled "$u" 2>/dev/null || true)" = enabled ]; then
    ok "$u enabled"
  else
    systemctl enable "$u" >/dev/null 2>&1 || die "systemctl enable $u failed"
    changed "enabled $u (starts at boot)"
  fi
done
if [ "$systemd_running" = 1 ]; then
  systemd-analyze verify "${unit_files[@]/#/$UNITS/}" || die "systemd-analyze verify found problems in the units above"
  ok "systemd-analyze verify: the units are valid"
else
  skip "starting services and systemd-analyze verify: systemd is not running here (chroot or image build)"
fi

# --- identity ------------------------------------------------------------------------------------------
step "Device identity (keys made here; only public keys and the certificate request leave)"
# `edgehr device provision` changes nothing when the keys exist; it prints what to send.
runuser -u edgehr -- "$edgehr" device provision --config "$ETC/device.toml" | tee "$STATE/provision.txt" | sed 's/^/  /'
enrolment=$STATE/keys/enrolment.json
[ -f "$enrolment" ] || die "edgehr device provision made no $enrolment"
if grep -q "^  made " "$STATE/provision.txt"; then changed "made device keys in $STATE/keys"; else ok "device keys in $STATE/keys"; fi
echo "  certificate request for the site CA ($STATE/keys/tls.csr):"
sed 's/^/    /' "$STATE/keys/tls.csr"

if [ -n "$register_url" ]; then
  [ -r "$token_file" ] || die "cannot read the token file $token_file"
  result=$(python3 - "$register_url" "$token_file" "$enrolment" "$(hostname)" <<'PY'
import json, sys, urllib.error, urllib.request
url, token_file, enrolment_file, site = sys.argv[1:5]
token = open(token_file, encoding="utf-8").read().strip()
e = json.load(open(enrolment_file, encoding="utf-8"))
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
body = {"id": e["device_id"], "name": e["device_id"], "site": "", "sign_public_key": e["sign_public"],
        "sign_key_id": e["sign_key_id"], "box_public_key": e["box_public"], "box_key_id": e["box_key_id"]}
def call(method, path, data=None):
    req = urllib.request.Request(url.rstrip("/") + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310 (the operator's server URL)
        return answer.status, json.loads(answer.read() or b"{}")
try:
    call("POST", "/api/devices", json.dumps(body).encode())
    print("registered")
except urllib.error.HTTPError as exc:
    if exc.code != 409:
        print(f"failed: HTTP {exc.code}: {exc.read()[:300]!r}")
        sys.exit(0)
    _, known = call("GET", f"/api/devices/{e['device_id']}")
    text = json.dumps(known)
    print("same" if e["sign_key_id"] in text and e["box_key_id"] in text else "conflict")
except OSError as exc:
    print(f"failed: {exc}")
PY
)
  case "$result" in
    registered) changed "registered $(basename "$enrolment") with $register_url" ;;
    same) ok "registered with $register_url already (same keys)" ;;
    conflict) die "the server knows this device id with other keys: revoke it there, or give this device a new id" ;;
    *) die "registration with $register_url $result" ;;
  esac
else
  skip "registration: no --register URL; send $enrolment to the HR server operator (POST /api/devices)"
fi

# --- checks --------------------------------------------------------------------------------------------
step "Checks"
if [ "$systemd_running" = 1 ]; then
  if [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null)" = yes ]; then
    ok "clock synchronised (systemd-timesyncd)"
  else
    skip "clock NOT synchronised yet: punches are marked clock_synced=false until it is (timedatectl timesync-status)"
  fi
  if [ -e /dev/watchdog ]; then ok "hardware watchdog /dev/watchdog present"; else skip "no /dev/watchdog (reboot after the first run on a Pi)"; fi
else
  skip "time-sync and watchdog checks: systemd is not running here (chroot or image build); they run at the next boot"
fi
cameras=(/dev/video*)
if [ "$is_pi" = 0 ]; then
  skip "camera check: not a Raspberry Pi"
elif [ -e "${cameras[0]}" ]; then
  ok "camera device ${cameras[0]}"
else
  skip "no /dev/video* yet (connect the camera, reboot)"
fi

echo
echo "provision: role $role, release $(basename "$(readlink "$PREFIX/current")"), $changes change(s), ${#skipped[@]} step(s) skipped"
if [ ! -f "$STATE/keys/tls.crt" ]; then
  cat <<EOF
Next: have the site CA sign $STATE/keys/tls.csr (ops/ca/edgehr-ca sign CA_DIR --enrolment enrolment.json
--device-id ID --out ID.crt), install it as $STATE/keys/tls.crt (owner edgehr, mode 600), the CA certificate
as $ETC/ca.crt and the server's keys as $ETC/server-keys.json, set [sync] enabled = true in $ETC/device.toml,
then: systemctl restart edgehr-terminal edgehr-panel edgehr-courier edgehr-kiosk-browser
EOF
fi
