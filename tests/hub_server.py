"""A small Hugging Face Hub-compatible HTTP server for tests, on 127.0.0.1 only (standard library, in memory).

It implements what `push_to_hub` and `from_pretrained` use: repo creation, YAML validation, pre-upload (every file
"regular", no LFS/Xet), NDJSON commits with base64 contents, model info by branch or commit, file trees, whoami and
`resolve` downloads with the `ETag` / `X-Repo-Commit` headers. Every commit is kept, so a pinned revision returns
the files as they were. Requests it does not know are answered 404 and recorded in `unknown_requests`.

    with HubServer() as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "test-token"}   # set before huggingface_hub is imported
"""

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

USER = "tester"


@dataclass
class Commit:
    oid: str
    files: dict[str, bytes]
    summary: str


@dataclass
class Repo:
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        revision = unquote(revision)
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        return self.commits.get(revision)


def _git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class HubServer:
    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.unknown_requests: list[str] = []
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"hub": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def create_repo(self, repo_id: str) -> bool:
        with self.lock:
            if repo_id in self.repos:
                return False
            repo = Repo()
            initial = Commit(hashlib.sha1(f"init {repo_id}".encode()).hexdigest(), {".gitattributes": b""}, "initial commit")
            repo.commits[initial.oid] = initial
            repo.branches["main"] = initial.oid
            self.repos[repo_id] = repo
            return True

    def commit(self, repo_id: str, branch: str, operations: list[dict], summary: str) -> Commit:
        with self.lock:
            repo = self.repos[repo_id]
            parent = repo.resolve(branch)
            files = dict(parent.files)
            for operation in operations:
                kind, value = operation["key"], operation["value"]
                if kind == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif kind == "deletedFile":
                    files.pop(value["path"], None)
                elif kind == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {path: content for path, content in files.items() if not path.startswith(prefix)}
                else:
                    raise ValueError(f"unsupported commit operation {kind}")
            digest = hashlib.sha1(parent.oid.encode() + json.dumps(sorted((p, _git_blob_sha(c)) for p, c in files.items())).encode() + summary.encode())
            commit = Commit(digest.hexdigest(), files, summary)
            repo.commits[commit.oid] = commit
            repo.branches[unquote(branch)] = commit.oid
            return commit


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    # --- helpers -------------------------------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload=None, headers=None, body: bytes | None = None, head: bool = False):
        if body is None:
            body = json.dumps(payload if payload is not None else {}).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_found(self, what="not found", head=False):
        self._send(404, {"error": what}, headers={"X-Error-Code": "EntryNotFound"}, head=head)

    def _unknown(self):
        self.hub.unknown_requests.append(f"{self.command} {self.path}")
        self._send(404, {"error": f"unknown endpoint {self.command} {self.path}"})

    def _split_model_path(self, rest: str):
        # rest = "{owner}/{name}/{action...}" (repo ids here always have a namespace)
        parts = rest.split("/")
        return "/".join(parts[:2]), parts[2:]

    # --- verbs ---------------------------------------------------------------------------------------------------
    def do_POST(self):
        path = urlparse(self.path).path
        if path == "/api/repos/create":
            request = json.loads(self._body() or b"{}")
            name = request.get("name")
            repo_id = f"{request['organization']}/{name}" if request.get("organization") else name
            if "/" not in repo_id:
                repo_id = f"{USER}/{repo_id}"
            created = self.hub.create_repo(repo_id)
            status = 200 if created else 409
            return self._send(status, {"url": f"{self.hub.url}/{repo_id}", "name": repo_id, "id": repo_id})
        if path == "/api/validate-yaml":
            self._body()
            return self._send(200, {"errors": [], "warnings": []})
        if path.startswith("/api/models/"):
            repo_id, action = self._split_model_path(path[len("/api/models/") :])
            if repo_id not in self.hub.repos:
                self._body()
                return self._send(404, {"error": f"repository {repo_id} not found"}, headers={"X-Error-Code": "RepoNotFound"})
            if action and action[0] == "preupload":
                request = json.loads(self._body() or b"{}")
                files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in request.get("files", [])]
                return self._send(200, {"files": files})
            if action and action[0] == "commit":
                branch = "/".join(action[1:]) or "main"
                lines = [json.loads(line) for line in self._body().decode().splitlines() if line.strip()]
                header = next((line["value"] for line in lines if line["key"] == "header"), {})
                operations = [line for line in lines if line["key"] != "header"]
                try:
                    commit = self.hub.commit(repo_id, branch, operations, header.get("summary", ""))
                except ValueError as error:
                    return self._send(400, {"error": str(error)})
                return self._send(
                    200,
                    {"commitUrl": f"{self.hub.url}/{repo_id}/commit/{commit.oid}", "commitOid": commit.oid,
                     "commitMessage": commit.summary, "success": True, "pullRequestUrl": None},
                )
        self._body()
        return self._unknown()

    def do_HEAD(self):
        self._get(head=True)

    def do_GET(self):
        self._get(head=False)

    def _get(self, head: bool):
        path = urlparse(self.path).path
        if path == "/api/agent-harnesses":  # asked by huggingface_hub on start-up; nothing to report here
            return self._send(200, [], head=head)
        if path == "/api/whoami-v2":
            return self._send(200, {"type": "user", "name": USER, "orgs": [], "auth": {"accessToken": {"role": "write"}}}, head=head)
        if path.startswith("/api/models/"):
            repo_id, action = self._split_model_path(path[len("/api/models/") :])
            repo = self.hub.repos.get(repo_id)
            if repo is None:
                return self._send(404, {"error": "repository not found"}, headers={"X-Error-Code": "RepoNotFound"}, head=head)
            if not action or action[0] == "revision":
                commit = repo.resolve("/".join(action[1:]) if action else "main")
                if commit is None:
                    return self._send(404, {"error": "revision not found"}, headers={"X-Error-Code": "RevisionNotFound"}, head=head)
                return self._send(200, _model_info(repo_id, commit), head=head)
            if action[0] == "tree":
                commit = repo.resolve(action[1] if len(action) > 1 else "main")
                if commit is None:
                    return self._send(404, {"error": "revision not found"}, headers={"X-Error-Code": "RevisionNotFound"}, head=head)
                prefix = "/".join(action[2:])
                entries = [
                    {"type": "file", "path": name, "size": len(content), "oid": _git_blob_sha(content)}
                    for name, content in sorted(commit.files.items())
                    if not prefix or name.startswith(prefix.rstrip("/") + "/")
                ]
                return self._send(200, entries, head=head)
            if action[0] == "refs":
                branches = [{"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid} for name, oid in repo.branches.items()]
                return self._send(200, {"branches": branches, "tags": [], "converts": []}, head=head)
            return self._unknown()
        # /{owner}/{name}/resolve/{revision}/{path}
        parts = path.lstrip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self.hub.repos.get("/".join(parts[:2]))
            commit = repo.resolve(parts[3]) if repo else None
            if commit is None:
                return self._send(404, {"error": "repository or revision not found"}, headers={"X-Error-Code": "RepoNotFound" if repo is None else "RevisionNotFound"}, head=head)
            name = unquote("/".join(parts[4:]))
            if name not in commit.files:
                return self._not_found(f"{name} not found", head=head)
            content = commit.files[name]
            headers = {
                "ETag": f'"{_git_blob_sha(content)}"',
                "X-Repo-Commit": commit.oid,
                "Content-Type": "application/octet-stream",
            }
            return self._send(200, headers=headers, body=content, head=head)
        return self._unknown()


def _model_info(repo_id: str, commit: Commit) -> dict:
    return {
        "_id": repo_id,
        "id": repo_id,
        "modelId": repo_id,
        "author": repo_id.split("/")[0],
        "sha": commit.oid,
        "private": False,
        "disabled": False,
        "gated": False,
        "tags": [],
        "downloads": 0,
        "likes": 0,
        "lastModified": "2026-11-24T00:00:00.000Z",
        "createdAt": "2026-11-24T00:00:00.000Z",
        "siblings": [{"rfilename": name} for name in sorted(commit.files)],
    }
