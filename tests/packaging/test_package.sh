#!/usr/bin/env bash
# What `cmake --install` and `cpack -G DEB` make of a built tree: the
# executables, /etc/sluice/server.properties (the package's conffile), a
# systemd unit that systemd-analyze accepts, the tuning profiles, and a
# Debian package whose dependencies are the Debian runtime libraries.
# Usage: test_package.sh BUILD_DIR VERSION
set -euo pipefail
build=$1
version=$2
work=$(mktemp -d /tmp/sluice-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

DESTDIR=$work/root cmake --install "$build" --prefix /usr >/dev/null
for f in usr/bin/sluice usr/bin/sluice-perf usr/bin/sluice-admin etc/sluice/server.properties \
         usr/lib/systemd/system/sluice.service usr/share/sluice/profiles/latency.properties \
         usr/share/sluice/profiles/throughput.properties usr/share/sluice/profiles/durable.properties; do
  [[ -e $work/root/$f ]] || fail "cmake --install did not install /$f"
done
[[ $("$work/root/usr/bin/sluice" --version) == "sluice $version" ]] ||
  fail "sluice --version says '$("$work/root/usr/bin/sluice" --version)', the build says $version"

# The sample configuration starts a broker without a warning (every key known).
cfg_log=$("$work/root/usr/bin/sluice" --config "$work/root/etc/sluice/server.properties" --help 2>&1)
grep -q WARN <<<"$cfg_log" && fail "the sample server.properties warns: $cfg_log"

sed "s#/usr/bin/sluice#$work/root/usr/bin/sluice#" "$work/root/usr/lib/systemd/system/sluice.service" \
  >"$work/sluice.service"
systemd-analyze verify "$work/sluice.service" || fail "systemd-analyze rejects sluice.service"
grep -q '^Type=notify$' "$work/sluice.service" || fail "the unit is not Type=notify"

(cd "$build" && cpack -G DEB -B "$work/deb" >/dev/null) || fail "cpack -G DEB failed"
deb=$(ls "$work"/deb/sluice_"$version"_*.deb) || fail "no sluice_${version}_*.deb"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 liburing2 libzstd1 liblz4-1 libsnappy1v5 zlib1g libisal2 librdkafka1 adduser; do
  grep -qE "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/sluice ./usr/bin/sluice-perf ./usr/bin/sluice-admin ./etc/sluice/server.properties \
         ./usr/lib/systemd/system/sluice.service; do
  grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/sluice/server.properties "$work/control/conffiles" || fail "server.properties is not a conffile"
[[ -x $work/control/postinst ]] && sh -n "$work/control/postinst" || fail "postinst is not a runnable script"
echo "package ok: $(basename "$deb"), Depends: $depends"
