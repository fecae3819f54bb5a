#!/bin/sh
# Install or update Newsroom on this machine, from the checkout this script is in.
#
#   sudo git clone <repository> /opt/newsroom
#   sudo /opt/newsroom/deploy/install.sh
#   sudo systemctl enable --now newsroom.socket newsroom.service
#
# Run as root. Safe to run again (after `git pull`, to deploy a new version): a
# run that finds everything in place changes nothing. It makes
#
#   the service user (NEWSROOM_USER, newsroom) with its home /srv/newsroom, and
#     under it var/: the SQLite database, media, cache and collected static files
#   /etc/newsroom/env from deploy/newsroom.env.example, once (never overwritten),
#     and /etc/newsroom/secret_key: both owner root, group newsroom, mode 640
#   /var/backups/newsroom for newsroom-backup.timer
#   the virtualenv .venv in the checkout (PYTHON picks the interpreter)
#   migrate and collectstatic, as the service user with the env file loaded
#     (NEWSROOM_MIGRATE=0 skips migrate: on the extra machines of a cluster)
#   every unit in deploy/systemd/ into /etc/systemd/system/, and the nginx site
#     into /etc/nginx/sites-available/newsroom (once: you edit it)
#
# NEWSROOM_PREFIX=/tmp/x puts every one of those paths under /tmp/x (tests).
# The files in deploy/ name the default paths; they are rewritten on the way.
set -eu

PREFIX="${NEWSROOM_PREFIX:-}"
SERVICE_USER="${NEWSROOM_USER:-newsroom}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
APP_DIR="$(cd "$(dirname "$0")/.." && pwd -P)"
HOME_DIR="$PREFIX/srv/newsroom"
VAR_DIR="$HOME_DIR/var"
CONF_DIR="$PREFIX/etc/newsroom"
ENV_FILE="$CONF_DIR/env"
SECRET_KEY_FILE="$CONF_DIR/secret_key"
BACKUP_DIR="$PREFIX/var/backups/newsroom"
SYSTEMD_DIR="$PREFIX/etc/systemd/system"
NGINX_SITE="$PREFIX/etc/nginx/sites-available/newsroom"
VENV="$APP_DIR/.venv"
# What readers' processes may not find in a service's environment.
SERVICE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf 'install.sh: %s\n' "$*"; }
fail() { say "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run it as root (sudo $0)"
[ -n "$PYTHON" ] || fail "no python3.11 or python3 found; set PYTHON=/path/to/python3.11"
case "$PREFIX$APP_DIR$SERVICE_USER" in
*'|'* | *'&'* | *'\'*) fail "paths and the user name may not contain | & or \\" ;;
esac

# deploy/'s files with this machine's paths and user instead of the defaults.
render() {
    sed -e "s|/opt/newsroom|$APP_DIR|g" \
        -e "s|/srv/newsroom|$HOME_DIR|g" \
        -e "s|/etc/newsroom|$CONF_DIR|g" \
        -e "s|/var/backups/newsroom|$BACKUP_DIR|g" \
        -e "s/^\(User\|Group\|SocketUser\|SocketGroup\)=newsroom\$/\1=$SERVICE_USER/" \
        "$1"
}

# A folder with this owner and mode (an existing one keeps its contents).
folder() { # path owner mode
    if [ ! -d "$1" ]; then
        say "created $1"
    fi
    install -d -o "${2%:*}" -g "${2#*:}" -m "$3" "$1"
}

# Put a rendered file in place, leaving it untouched when it is already right.
# Prints the path when it changed.
place() { # source destination mode
    if [ -f "$2" ] && cmp -s "$1" "$2"; then
        chown root:root "$2"
        chmod "$3" "$2"
        return 0
    fi
    install -o root -g root -m "$3" "$1" "$2"
    say "installed $2"
    echo "$2" >>"$WORK/changed"
}

# A command run the way the systemd units run it: as the service user, in the
# checkout, with nothing in its environment but the env file.
as_service() { # umask command...
    mask="$1"
    shift
    (cd "$APP_DIR" && runuser -u "$SERVICE_USER" -- env -i PATH="$SERVICE_PATH" \
        HOME="$HOME_DIR" LANG=C.UTF-8 sh -c \
        'umask "$0" && set -a && . "$1" && set +a && shift && exec "$@"' \
        "$mask" "$ENV_FILE" "$@")
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
: >"$WORK/changed"

# The service user and its home. nginx reads var/static, so the way there is
# open to everyone; the database, media and cache folders are not.
if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    mkdir -p "$(dirname "$HOME_DIR")"
    useradd --system --user-group --create-home --home-dir "$HOME_DIR" \
        --shell /usr/sbin/nologin --comment "Newsroom site" "$SERVICE_USER"
    say "created user $SERVICE_USER (home $HOME_DIR)"
fi
GROUP="$(id -gn "$SERVICE_USER")"
folder "$HOME_DIR" "$SERVICE_USER:$GROUP" 755
folder "$VAR_DIR" "$SERVICE_USER:$GROUP" 755
folder "$VAR_DIR/static" "$SERVICE_USER:$GROUP" 755
folder "$VAR_DIR/media" "$SERVICE_USER:$GROUP" 750
folder "$VAR_DIR/cache" "$SERVICE_USER:$GROUP" 750
mkdir -p "$(dirname "$BACKUP_DIR")"
folder "$BACKUP_DIR" "$SERVICE_USER:$GROUP" 700

# Configuration: root's to change, the service's to read.
folder "$CONF_DIR" "root:$GROUP" 750
if [ ! -f "$SECRET_KEY_FILE" ]; then
    (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))' \
        >"$WORK/secret_key")
    install -o root -g "$GROUP" -m 640 "$WORK/secret_key" "$SECRET_KEY_FILE"
    say "generated $SECRET_KEY_FILE"
fi
if [ ! -f "$ENV_FILE" ]; then
    render "$APP_DIR/deploy/newsroom.env.example" >"$WORK/env"
    install -o root -g "$GROUP" -m 640 "$WORK/env" "$ENV_FILE"
    say "created $ENV_FILE: set the host name in it, then run $0 again"
fi
# An env file made by hand (say mode 600) must still be readable by the service.
chown "root:$GROUP" "$ENV_FILE" "$SECRET_KEY_FILE"
chmod 640 "$ENV_FILE" "$SECRET_KEY_FILE"

# The virtualenv, installed again only when pyproject.toml changes.
if [ ! -x "$VENV/bin/python" ]; then
    runuser -u "$SERVICE_USER" -- "$PYTHON" -c "" 2>/dev/null ||
        fail "$SERVICE_USER cannot run $PYTHON (in a private home?); set PYTHON=/usr/bin/python3.11"
    # shellcheck disable=SC2086 # options, split on purpose
    "$PYTHON" -m venv ${NEWSROOM_VENV_OPTIONS:-} "$VENV"
    say "created $VENV"
fi
requirements="$(sha256sum <"$APP_DIR/pyproject.toml")"
if [ "$(cat "$VENV/.installed-pyproject" 2>/dev/null)" != "$requirements" ]; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -e "$APP_DIR"
    echo "$requirements" >"$VENV/.installed-pyproject"
    say "installed the app and its requirements into $VENV"
fi

# migrate and collectstatic when the code, the packages or the env file changed
# (a deploy, or another DATABASE_URL; migrate also makes every cached page
# stale), or when the static files are missing. Not otherwise: even opening
# the database would change var/.
release="$(
    cd "$APP_DIR" &&
        find . \( -name .git -o -name .venv -o -name var -o -name node_modules \
            -o -name '*.egg-info' -o -name __pycache__ -o -name build \) -prune \
            -o -type f -print0 | sort -z | xargs -0 sha256sum
    ls "$VENV"/lib/python*/site-packages
    cat "$ENV_FILE"
)"
release="$(echo "$release" | sha256sum)"
release_stamp="$VAR_DIR/.installed-release"
new_release=false
[ "$(cat "$release_stamp" 2>/dev/null)" = "$release" ] || new_release=true

if $new_release && [ "${NEWSROOM_MIGRATE:-1}" != 0 ]; then
    as_service 027 "$VENV/bin/python" manage.py migrate --noinput
    say "migrated the database"
fi
if $new_release || [ ! -f "$VAR_DIR/static/staticfiles.json" ]; then
    as_service 022 "$VENV/bin/python" manage.py collectstatic --noinput --verbosity 0
    say "collected static files into $VAR_DIR/static"
fi
# nginx's share of the one upload limit (NEWSROOM_UPLOAD_MAX_MB), which
# nginx/newsroom.conf includes: written whenever the release changes.
if $new_release || [ ! -f "$VAR_DIR/nginx/limits.conf" ]; then
    as_service 022 "$VENV/bin/python" manage.py nginx_limits
    say "wrote nginx's upload limit into $VAR_DIR/nginx"
fi
if $new_release; then
    echo "$release" >"$WORK/release"
    install -o root -g root -m 600 "$WORK/release" "$release_stamp"
fi

# systemd units: every one in deploy/systemd/ (the web server, its socket, the
# backup timer, workers), reloaded only when one changed.
mkdir -p "$SYSTEMD_DIR"
for unit in "$APP_DIR"/deploy/systemd/*.service "$APP_DIR"/deploy/systemd/*.socket \
    "$APP_DIR"/deploy/systemd/*.timer; do
    [ -f "$unit" ] || continue
    render "$unit" >"$WORK/unit"
    place "$WORK/unit" "$SYSTEMD_DIR/$(basename "$unit")" 644
done
if [ -s "$WORK/changed" ] && [ -z "$PREFIX" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    say "reloaded systemd: systemctl enable --now newsroom.socket newsroom.service"
fi

# nginx: the site once (it holds your host name and certificates), not enabled:
# edit it, link it into sites-enabled/, then nginx -t && systemctl reload nginx.
if [ ! -f "$NGINX_SITE" ]; then
    mkdir -p "$(dirname "$NGINX_SITE")"
    render "$APP_DIR/deploy/nginx/newsroom.conf" >"$WORK/site"
    install -o root -g root -m 644 "$WORK/site" "$NGINX_SITE"
    say "created $NGINX_SITE: set the host name and certificates, then enable it"
fi
say "done"
