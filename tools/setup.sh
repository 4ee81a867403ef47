#!/usr/bin/env bash
# Project set-up for a fresh Debian machine: installs the system packages that the build and
# the tests need beyond the Rust toolchain and Python 3, and the pinned Python validators of the
# formats explainme writes (tools/requirements-validators.txt); the ONNX Runtime library is fetched by
# crates/explainme-onnx/build.rs on its own. Idempotent: a package already installed is left
# alone, and `apt-get update` runs only when something must be installed.
# Run it as root, or as a user who may sudo. Usage: bash tools/setup.sh
set -euo pipefail

# Debian packages, one per line with what needs it.
packages=(
    chromium        # headless browser: tests/browser_check.rs renders the HTML reports
    chromium-driver # WebDriver for it: tests/workbench_browser.rs drives the workbench page
    dicom3tools     # dciodvfy checks the DICOM SR explainme writes (tests/demo.rs)
    dcmtk           # dsrdump prints its content tree (tests/demo.rs)
)

missing=()
for package in "${packages[@]}"; do
    # The status line, not `dpkg -s` alone: that also succeeds for a package removed with its
    # config files left behind (status "deinstall ok config-files").
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all set (${packages[*]})"
else
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "setup: done"
fi

# Python validators of the formats explainme writes (pinned); pip leaves them alone when the
# pinned versions are there.
requirements="$(dirname "$0")/requirements-validators.txt"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r "$requirements"
echo "setup: validators installed ($(grep -v '^#' "$requirements" | tr '\n' ' '))"
