#!/usr/bin/env bash
# Install the Debian packages medsign's tests use (idempotent, fast when nothing is
# missing): Chromium (browser tests), poppler-utils (pdfsig), qpdf, libnss3-tools,
# DejaVu fonts, LibreOffice Writer without GUI (DOCX/DOC/ODT/RTF to PDF at intake),
# OpenSSL's GOST engine (ESIA: GOST R 34.10-2012 signatures, Streebog),
# PDF manuals from three documentation packages (the intake tests' third-party corpus:
# pdfTeX, gnuplot and ReportLab output), and PostgreSQL when nothing answers on
# 127.0.0.1:5432.
set -euo pipefail

say() { printf '[install-system] %s\n' "$*"; }

PACKAGES=(chromium poppler-utils qpdf libnss3-tools fonts-dejavu-core libreoffice-writer-nogui
  libengine-gost-openssl
  asymptote-doc gnuplot-doc python-reportlab-doc)

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    SUDO=(none)
  fi
fi

pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
need_pg=0
if ! pg_answers; then
  need_pg=1
  dpkg -s postgresql >/dev/null 2>&1 || missing+=(postgresql)
fi

if [[ ${#missing[@]} -eq 0 && $need_pg -eq 0 ]]; then
  say "all system packages present; PostgreSQL answers on 127.0.0.1:5432"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "no apt-get here: install ${missing[*]:-postgresql} yourself; tests that need them are skipped"
  exit 0
fi
if [[ ${SUDO[0]:-} == none ]]; then
  say "not root and no password-less sudo: cannot install ${missing[*]:-}; tests that need them are skipped"
  exit 0
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "installed: ${missing[*]}"
fi

if [[ $need_pg -eq 1 ]]; then
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -qx "$ver main"; then
    say "creating PostgreSQL $ver cluster 'main'"
    "${SUDO[@]}" pg_createcluster "$ver" main >/dev/null
  fi
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! "${SUDO[@]}" grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    say "trusting local TCP connections from 127.0.0.1 in $hba (test machines only)"
    "${SUDO[@]}" sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  say "starting PostgreSQL $ver main"
  "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null ||
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  for _ in $(seq 1 30); do pg_answers && break; sleep 0.5; done
  if ! pg_answers; then
    say "PostgreSQL did not start; tests run on SQLite only"
    exit 0
  fi
  if [[ -z $(psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'") ]]; then
    say "creating database 'test'"
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null
  fi
  say "PostgreSQL answers on 127.0.0.1:5432 (database 'test')"
fi
