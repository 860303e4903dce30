"""Pin the Dockerfiles' base image to a digest: ``make base-digest`` (``make base-digest DIGEST=sha256:...``).

Example::

    python scripts/base_digest.py                            # asks Docker Hub what the tag is now
    python scripts/base_digest.py --digest sha256:<64 hex>   # a digest you checked yourself

Rewrites the ``ARG PYTHON_IMAGE=<tag>@sha256:...`` line of the BFF's and the simulator's Dockerfile, keeping
the tag (which says what the digest is meant to be) and replacing the digest. Asking the registry needs its
network (``docker buildx imagetools inspect python:3.11-slim-bookworm`` prints the same digest).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "deploy" / "simulator.Dockerfile"]
LINE = re.compile(r"^ARG PYTHON_IMAGE=(?P<tag>[^@\s]+)(?:@(?P<digest>sha256:[0-9a-f]{64}))?$", re.MULTILINE)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
#: A multi-platform tag is an index; its digest is what ``FROM tag@digest`` pins on every platform.
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def registry_digest(tag: str, timeout: float = 30) -> str:
    """The digest Docker Hub serves for ``tag`` (``python:3.11-slim-bookworm``) now."""
    name, _, reference = tag.partition(":")
    repository = name if "/" in name else f"library/{name}"
    token_url = f"https://auth.docker.io/token?service=registry.docker.io&scope=repository:{repository}:pull"
    with urllib.request.urlopen(token_url, timeout=timeout) as answer:  # noqa: S310 (a fixed https URL)
        token = json.load(answer)["token"]
    request = urllib.request.Request(  # noqa: S310 (a fixed https URL)
        f"https://registry-1.docker.io/v2/{repository}/manifests/{reference or 'latest'}",
        method="HEAD",
        headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        digest = str(answer.headers["Docker-Content-Digest"])
    return digest


def pin(text: str, digest: str) -> tuple[str, list[str]]:
    """``text`` with every ``ARG PYTHON_IMAGE`` line pinned to ``digest``, and the tags it pinned."""
    if not DIGEST.fullmatch(digest):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    tags: list[str] = []

    def repin(match: re.Match[str]) -> str:
        tags.append(match.group("tag"))
        return f"ARG PYTHON_IMAGE={match.group('tag')}@{digest}"

    return LINE.sub(repin, text), tags


def main(argv: list[str] | None = None, files: list[Path] = DOCKERFILES) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digest", help="use this digest instead of asking the registry")
    args = parser.parse_args(argv)
    texts = {path: path.read_text() for path in files}
    found = [m for text in texts.values() for m in LINE.finditer(text)]
    if not found or len({m.group("tag") for m in found}) != 1:
        sys.stderr.write(
            "expected one base tag in ARG PYTHON_IMAGE lines of " + ", ".join(map(str, files)) + "\n"
        )
        return 2
    tag = found[0].group("tag")
    digest = args.digest or registry_digest(tag)
    for path, text in texts.items():
        pinned, _ = pin(text, digest)
        path.write_text(pinned)
    sys.stdout.write(f"{tag}@{digest}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
