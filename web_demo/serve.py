"""Serve the browser demo on this machine (nothing is fetched from a CDN).

    python -m web_demo.serve                        # the bundled model (exported once)
    python -m web_demo.serve --model_dir exported/vox/float32 --port 8000

Routes: ``/`` the page, ``/model/`` the export's ``model_card.json`` and the
``.tflite`` files it lists, ``/litert/`` and ``/litert-wasm/`` the LiteRT.js
runtime from ``web_demo/node_modules`` (``npm ci`` in ``web_demo``),
``/samples/`` the bundled source photo and driving video. Every response
carries the COOP/COEP headers that threaded WebAssembly needs.
"""

import argparse
import importlib.util
import json
import mimetypes
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
STATIC = HERE / "static"
LITERT_DIST = NODE_MODULES / "@litertjs" / "core" / "dist"
LITERT_WASM = NODE_MODULES / "@litertjs" / "core" / "wasm"
WASM_UTILS_DIST = NODE_MODULES / "@litertjs" / "wasm-utils" / "dist"
HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".tflite": "application/octet-stream",
    ".mp4": "video/mp4",
    ".png": "image/png",
    ".css": "text/css",
    ".html": "text/html; charset=utf-8",
}


class DemoError(ValueError):
    """Bad serve argument: printed as one line."""


def check_model_dir(model_dir):
    """The export's model card and the files it lists; DemoError if not an export."""
    model_dir = Path(model_dir)
    card_path = model_dir / "model_card.json"
    if not model_dir.is_dir():
        raise DemoError(f"{model_dir}: no such export directory")
    if not card_path.is_file():
        raise DemoError(
            f"{model_dir}: no model_card.json (pass a mode directory written by "
            "python -m export.tflite, e.g. exported/vox/float32)"
        )
    try:
        card = json.loads(card_path.read_text())
        files = [entry["file"] for entry in card["models"]]
    except (ValueError, KeyError, TypeError) as error:
        raise DemoError(f"{card_path}: not a model card ({error})") from None
    for name in files:
        if not (model_dir / name).is_file():
            raise DemoError(f"{model_dir / name}: missing (listed in model_card.json)")
    return {"model_card.json", *files}


def check_runtime():
    """DemoError when the npm packages are not installed."""
    for path in (LITERT_DIST / "index.js", LITERT_WASM, WASM_UTILS_DIST / "index.js"):
        if not path.exists():
            raise DemoError(
                f"{path} missing: run `npm ci` in {HERE.name}/ (installs LiteRT.js)"
            )


def sample_dir():
    """``fomm_tf/assets`` located without importing fomm_tf (and TensorFlow)."""
    spec = importlib.util.find_spec("fomm_tf")
    return Path(next(iter(spec.submodule_search_locations))) / "assets"


def routes(model_dir):
    """URL prefix -> (folder, allowed file names or None for any file)."""
    return {
        "/model/": (Path(model_dir), check_model_dir(model_dir)),
        "/litert/": (LITERT_DIST, None),
        "/litert-wasm/": (LITERT_WASM, None),
        "/wasm-utils/": (WASM_UTILS_DIST, None),
        "/samples/": (sample_dir(), {"source.png", "driving.mp4"}),
        "/": (STATIC, None),
    }


class Handler(SimpleHTTPRequestHandler):
    """Static files from the route table only (no directory listings)."""

    def __init__(self, *args, table, verbose=False, **kwargs):
        self.table = table
        self.verbose = verbose
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        path = unquote(urlsplit(path).path)
        if path == "/":
            path = "/index.html"
        for prefix, (folder, allowed) in self.table.items():
            if path.startswith(prefix):
                name = path[len(prefix) :]
                if allowed is not None and name not in allowed:
                    return ""
                target = (folder / name).resolve()
                if folder.resolve() in target.parents and target.is_file():
                    return str(target)
                return ""
        return ""

    def guess_type(self, path):
        return TYPES.get(Path(path).suffix, mimetypes.guess_type(path)[0] or
                         "application/octet-stream")  # fmt: skip

    def end_headers(self):
        for key, value in HEADERS.items():
            self.send_header(key, value)
        super().end_headers()

    def list_directory(self, path):
        self.send_error(404, "Not found")
        return None

    def log_message(self, format, *args):
        if self.verbose:
            super().log_message(format, *args)


def make_server(model_dir, host="127.0.0.1", port=0, verbose=False):
    """A ThreadingHTTPServer for the page and ``model_dir``; port 0 picks a free
    port (``server.server_address``)."""
    check_runtime()
    handler = partial(Handler, table=routes(model_dir), verbose=verbose)
    return ThreadingHTTPServer((host, port), handler)


def serve_in_thread(model_dir, **kwargs):
    """Start a server on a daemon thread; returns ``(server, base_url)``."""
    server = make_server(model_dir, **kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m web_demo.serve",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--model_dir", help="an export mode directory (default: the "
                        "bundled model, exported on first use)")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        model_dir = args.model_dir
        if model_dir is None:
            from web_demo.reference import bundled_export

            print("Using the bundled model (exported to TFLite on first use) ...",
                  file=sys.stderr, flush=True)  # fmt: skip
            model_dir = bundled_export()
        server = make_server(model_dir, args.host, args.port, args.verbose)
    except (DemoError, OSError) as error:
        sys.exit(f"web_demo.serve: error: {error}")
    host, port = server.server_address[:2]
    print(f"Serving {model_dir} on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
