"""A TypeScript client's types, generated from the served /openapi.json by openapi-typescript (npm, pinned in
tests/contract/typescript), type-check against a real exchange with the BFF: every kind of step, the
session, the sessions list, error answers; and a login call without ``X-CSRF`` does not type-check."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.bff_fixtures import BffFactory, Sim

TS = Path(__file__).parent / "typescript"

pytestmark = pytest.mark.usefixtures("sim")


def npm_ci_cached(folder: Path) -> None:
    """``npm ci`` in ``folder`` unless its node_modules was installed from this very package-lock.json."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: install Node.js 20 or later (Debian: apt-get install -y nodejs npm)")
    digest = hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()[:16]
    stamp = folder / "node_modules" / f".installed-{digest}"
    if stamp.exists():
        return
    subprocess.run(  # noqa: S603 - fixed argv
        [npm, "ci", "--no-audit", "--no-fund"], cwd=folder, check=True, timeout=600, capture_output=True
    )
    stamp.touch()


def _json(response: httpx.Response) -> Any:
    return response.json()


def exchange(bff_url: str, sim: Sim) -> dict[str, Any]:
    """Real answers of the BFF, named by the TypeScript type each must satisfy."""
    seen: dict[str, Any] = {}
    with httpx.Client(base_url=bff_url, headers={"X-CSRF": "1"}, timeout=15) as c:
        seen["options: Ok<'/auth/options', 'get'>"] = _json(c.get("/auth/options"))
        challenge = _json(c.post("/auth/login", json={"username": "push@example.com"}))
        seen["challenge: Ok<'/auth/login', 'post'>"] = challenge
        up = challenge["challenge"]["mechanisms"][0]["id"]
        second = _json(c.post("/auth/advance", json={"mechanism": up, "answer": "push-pass-1"}))
        seen["second: Ok<'/auth/advance', 'post'>"] = second
        push = next(m["id"] for m in second["challenge"]["mechanisms"] if m["name"] == "OTP")
        pending = _json(c.post("/auth/advance", json={"mechanism": push, "action": "start_oob"}))
        assert pending["status"] == "pending", pending
        seen["pending: Ok<'/auth/advance', 'post'>"] = pending
        sim.approve("push@example.com")
        done = _json(c.post("/auth/poll", json={}))
        assert done["status"] == "authenticated", done
        seen["done: Ok<'/auth/poll', 'post'>"] = done
        seen["session: Ok<'/auth/session', 'get'>"] = _json(c.get("/auth/session"))
        seen["sessions: Ok<'/auth/sessions', 'get'>"] = _json(c.get("/auth/sessions"))
        seen["noLogin: Err<'/auth/poll', 'post', 409>"] = _json(c.post("/auth/poll", json={}))
        csrf = c.post("/auth/logout", headers={"X-CSRF": "0"})
        assert csrf.status_code == 403
        seen["csrf: Err<'/auth/logout', 'post', 403>"] = _json(csrf)
        notAllowed = c.post("/api/Nothing/Here", json={})
        seen["notAllowed: Err<'/api/{path}', 'post', 403>"] = _json(notAllowed)
        c.post("/auth/logout")
        seen["unauthenticated: Err<'/auth/session', 'get', 401>"] = _json(c.get("/auth/session"))
        redirect = _json(c.post("/auth/login", json={"username": "fed@partner.example"}))
        assert redirect["status"] == "redirect", redirect
        seen["redirect: Ok<'/auth/login', 'post'>"] = redirect
    return seen


PRELUDE = """import type { components, paths } from "./openapi";

type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;
type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: { 200: infer R } }
  ? Json<R>
  : never;
type Err<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends {
  responses: infer R;
}
  ? S extends keyof R
    ? Json<R[S]>
    : never
  : never;
type Headers<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  parameters: { header: infer H };
}
  ? H
  : never;

export const csrfHeader: Headers<"/auth/login", "post"> = { "X-CSRF": "1" };
// @ts-expect-error X-CSRF is required on every call that changes state
export const noCsrfHeader: Headers<"/auth/login", "post"> = {};
export const code: components["schemas"]["ErrorCode"] = "csrf";
"""


def typescript_source(seen: dict[str, Any]) -> str:
    lines = [PRELUDE]
    for declaration, value in seen.items():
        lines.append(f"export const {declaration} = {json.dumps(value, indent=2)};\n")
    return "\n".join(lines)


def test_generated_types_fit_a_real_exchange(make_bff: BffFactory, sim: Sim, tmp_path: Path) -> None:
    npm_ci_cached(TS)
    bff = make_bff(bff_proxy_allow="POST /UPRest/GetUPData")
    document = httpx.get(bff.url + "/openapi.json", timeout=10).json()
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    bin_dir = TS / "node_modules" / ".bin"
    subprocess.run(  # noqa: S603 - fixed argv
        [
            str(bin_dir / "openapi-typescript"),
            str(tmp_path / "openapi.json"),
            "-o",
            str(tmp_path / "openapi.ts"),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    (tmp_path / "exchange.ts").write_text(typescript_source(exchange(bff.url, sim)))
    (tmp_path / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "noEmit": True,
                    "target": "ES2022",
                    "module": "ESNext",
                    "moduleResolution": "Bundler",
                    "allowImportingTsExtensions": True,
                },
                "files": ["openapi.ts", "exchange.ts"],
            }
        )
    )
    checked = subprocess.run(  # noqa: S603 - fixed argv
        [str(bin_dir / "tsc"), "-p", str(tmp_path / "tsconfig.json")],
        timeout=180,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_drifted_answer_does_not_type_check(make_bff: BffFactory, sim: Sim, tmp_path: Path) -> None:
    """The check has teeth: an answer with an unknown error code or step status fails to compile."""
    npm_ci_cached(TS)
    bff = make_bff()
    (tmp_path / "openapi.json").write_text(
        json.dumps(httpx.get(bff.url + "/openapi.json", timeout=10).json())
    )
    bin_dir = TS / "node_modules" / ".bin"
    subprocess.run(  # noqa: S603 - fixed argv
        [
            str(bin_dir / "openapi-typescript"),
            str(tmp_path / "openapi.json"),
            "-o",
            str(tmp_path / "openapi.ts"),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    drifted = {
        "err: Err<'/auth/session', 'get', 401>": {"error": "no_such_code", "message": "x"},
        "step: Ok<'/auth/login', 'post'>": {"status": "finished"},
    }
    (tmp_path / "exchange.ts").write_text(typescript_source(drifted))
    (tmp_path / "tsconfig.json").write_text(
        json.dumps(
            {"compilerOptions": {"strict": True, "noEmit": True}, "files": ["openapi.ts", "exchange.ts"]}
        )
    )
    checked = subprocess.run(  # noqa: S603 - fixed argv
        [str(bin_dir / "tsc"), "-p", str(tmp_path / "tsconfig.json")],
        timeout=180,
        capture_output=True,
        text=True,
    )
    assert checked.returncode != 0
    assert "no_such_code" in checked.stdout and "finished" in checked.stdout, checked.stdout
