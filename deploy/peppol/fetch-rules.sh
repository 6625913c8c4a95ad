#!/usr/bin/env bash
# Fetch the official PEPPOL BIS Billing 3.0 validation artefacts from Maven Central into a cache
# outside the repository, and print that directory on stdout (alone: callers do
# `rules=$(deploy/peppol/fetch-rules.sh)`). Everything else goes to stderr.
#
# What, and from where (Maven Central is the one source we may download from):
#   com.helger.phive.rules:phive-rules-peppol  OpenPEPPOL's Schematron for BIS Billing 3.0 compiled
#       to XSLT, unchanged, as phive ships them (external/schematron/openpeppol/RELEASE/xslt/):
#         CEN-EN16931-UBL.xslt      the EN 16931 business rules (BR-*, BR-CO-*, BR-S-*, ...)
#         PEPPOL-EN16931-UBL.xslt   the PEPPOL rules (PEPPOL-EN16931-*, PEPPOL-COMMON-*) and the
#                                   national rules, among them Sweden's SE-R-001 ... SE-R-013
#   com.helger.ubl:ph-ubl21                     the OASIS UBL 2.1 XSD (external/schemas/ubl21/)
#   com.helger.xsd:ph-xsds-*                    the schemas UBL imports (CCTS, XML-DSig, XAdES):
#       ph-ubl21 leaves their xsd:import without a schemaLocation (Java resolves them from the
#       class path), so the copies here get one, pointing at the file beside them.
# Result: DIR/CEN-EN16931-UBL.xslt, DIR/PEPPOL-EN16931-UBL.xslt, DIR/ubl21/maindoc/*.xsd,
# DIR/ubl21/common/*.xsd and DIR/RELEASE (the OpenPEPPOL release, e.g. 2026.5).
#
#   FORDRA_PEPPOL_RULES  where they go (default: ~/.cache/fordra/peppol-rules/RELEASE-phive-VERSION)
#
# Idempotent: a stamp holding this script's checksum marks a complete fetch; with it present and
# the script unchanged, this does nothing. A fetch goes to a temporary sibling directory renamed
# into place at the end, so an interrupted run never leaves a half-filled directory that looks done.
# Every jar's SHA-256 is pinned below, so a changed artefact fails loudly instead of silently
# changing the rules our invoices are checked against.
set -euo pipefail

# OpenPEPPOL publishes a rule release each May and November; phive-rules-peppol carries the
# newest ones. To move on: raise the versions, run once, and put the new checksums here.
bis_release=2026.5
phive_version=4.3.7
ubl_version=10.2.0
xsds_version=4.1.0
artifacts=(
    "com.helger.phive.rules:phive-rules-peppol:$phive_version c82aaeda5ca16166034421393d160ec6cf77460b16e027eecc4bb5fe67a552ce"
    "com.helger.ubl:ph-ubl21:$ubl_version 7317ddd448f58cdf4e550878d839be8d3324b410771ba462a35ced49ccb26a52"
    "com.helger.xsd:ph-xsds-ccts-cct-schemamodule:$xsds_version ec0e60be5265b09fac75a57a4b284244820c23f0481a1c75802ba4eb6338b0fd"
    "com.helger.xsd:ph-xsds-xmldsig:$xsds_version 66590e38b0994d0fd6cd89b1588a3c96fad3a3c85494cf764783fe0c4acc9c3d"
    "com.helger.xsd:ph-xsds-xades132:$xsds_version d90bdb2359bbef63bd789af238fb135dd7ada0ba9722f4e2825cd210dada013c"
    "com.helger.xsd:ph-xsds-xades141:$xsds_version b34b2670774e9de79653767fd667d86823261c153f706c2344889d0702f54e41"
)

self="${BASH_SOURCE[0]}"
dir="${FORDRA_PEPPOL_RULES:-${HOME:?HOME is not set}/.cache/fordra/peppol-rules/$bis_release-phive-$phive_version}"
stamp="$dir/.fordra-fetched"
want=$(sha256sum "$self" | cut -d' ' -f1)

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && [[ -f "$dir/PEPPOL-EN16931-UBL.xslt" && -f "$dir/ubl21/maindoc/UBL-Invoice-2.1.xsd" ]]; then
    echo "fetch-rules.sh: PEPPOL BIS Billing 3.0 rules $bis_release already in $dir" >&2
    echo "$dir"
    exit 0
fi

for tool in java mvn python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "fetch-rules.sh: '$tool' not found (Debian: apt-get install -y openjdk-17-jdk-headless maven)" >&2
        exit 1
    fi
done

echo "fetch-rules.sh: fetching PEPPOL BIS Billing 3.0 rules $bis_release (phive-rules-peppol $phive_version) with Maven" >&2
mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# One Maven run for all the jars: a throwaway pom lists them (without their own dependencies) and
# pins the plugin, so a fresh machine resolves the same plugin. -q keeps Maven to errors; sed
# drops Debian Maven 3.8's bare colour resets.
{
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo '<groupId>se.fordra.deploy</groupId><artifactId>peppol-rules</artifactId><version>1</version>'
    echo '<packaging>pom</packaging><dependencies>'
    for entry in "${artifacts[@]}"; do
        IFS=: read -r group artifact version <<<"${entry%% *}"
        echo "<dependency><groupId>$group</groupId><artifactId>$artifact</artifactId><version>$version</version></dependency>"
    done
    echo '</dependencies><build><plugins><plugin><groupId>org.apache.maven.plugins</groupId>'
    echo '<artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version></plugin></plugins></build>'
    echo '</project>'
} >"$tmp/pom.xml"
mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" dependency:copy-dependencies \
    -DexcludeTransitive=true -DoutputDirectory="$tmp/jars" 2>&1 \
    | sed -e 's/\x1b\[[0-9;]*m//g' | grep -v '^$' >&2 || [[ ${PIPESTATUS[0]} -eq 0 ]]
for entry in "${artifacts[@]}"; do
    read -r coordinates expected <<<"$entry"
    IFS=: read -r _group artifact version <<<"$coordinates"
    jar="$tmp/jars/$artifact-$version.jar"
    if [[ ! -f "$jar" ]]; then
        echo "fetch-rules.sh: Maven finished but $artifact-$version.jar is missing" >&2
        exit 1
    fi
    actual=$(sha256sum "$jar" | cut -d' ' -f1)
    if [[ "$actual" != "$expected" ]]; then
        echo "fetch-rules.sh: $coordinates has SHA-256 $actual, expected $expected" >&2
        exit 1
    fi
done

# Python's zipfile rather than unzip(1), which a minimal Debian lacks.
python3 - "$tmp" "$bis_release" <<'PY'
import re
import sys
import zipfile
from pathlib import Path

out, release = Path(sys.argv[1]), sys.argv[2]
jars = {path.name.rsplit("-", 1)[0]: path for path in (out / "jars").glob("*.jar")}

xslt = f"external/schematron/openpeppol/{release}/xslt/"
with zipfile.ZipFile(jars["phive-rules-peppol"]) as jar:
    for name in ("CEN-EN16931-UBL.xslt", "PEPPOL-EN16931-UBL.xslt"):
        (out / name).write_bytes(jar.read(xslt + name))

prefix = "external/schemas/ubl21/"
with zipfile.ZipFile(jars["ph-ubl21"]) as jar:
    for info in jar.infolist():
        if info.filename.startswith(prefix) and info.filename.endswith(".xsd"):
            target = out / "ubl21" / info.filename[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(jar.read(info))

common = out / "ubl21" / "common"
imported = {  # namespace -> (jar, file inside it)
    "urn:un:unece:uncefact:data:specification:CoreComponentTypeSchemaModule:2": (
        "ph-xsds-ccts-cct-schemamodule", "schemas/CCTS_CCT_SchemaModule.xsd"),
    "http://www.w3.org/2000/09/xmldsig#": ("ph-xsds-xmldsig", "schemas/xmldsig-core-schema.xsd"),
    "http://uri.etsi.org/01903/v1.3.2#": ("ph-xsds-xades132", "schemas/XAdES01903v132-201601.xsd"),
    "http://uri.etsi.org/01903/v1.4.1#": ("ph-xsds-xades141", "schemas/XAdES01903v141-201601.xsd"),
}
for jar_name, member in imported.values():
    with zipfile.ZipFile(jars[jar_name]) as jar:
        (common / Path(member).name).write_bytes(jar.read(member))

# An import with a namespace and no schemaLocation gets the file copied beside it.
bare_import = re.compile(r'<xsd:import\s+namespace\s*=\s*"([^"]+)"\s*/>')


def locate(match: re.Match[str]) -> str:
    namespace = match.group(1)
    if namespace not in imported:
        return match.group(0)
    return f'<xsd:import namespace="{namespace}" schemaLocation="{Path(imported[namespace][1]).name}"/>'


for xsd in common.glob("*.xsd"):
    text = xsd.read_text(encoding="utf-8")
    patched = bare_import.sub(locate, text)
    if patched != text:
        xsd.write_text(patched, encoding="utf-8")
if not (out / "ubl21" / "maindoc" / "UBL-Invoice-2.1.xsd").is_file():
    sys.exit("fetch-rules.sh: no UBL-Invoice-2.1.xsd in ph-ubl21")
(out / "RELEASE").write_text(f"{release}\n")
PY
rm -rf "$tmp/jars" "$tmp/pom.xml" "$tmp/target"
echo "$want" >"$tmp/.fordra-fetched"
chmod 0755 "$tmp"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "fetch-rules.sh: PEPPOL BIS Billing 3.0 rules $bis_release in $dir" >&2
echo "$dir"
