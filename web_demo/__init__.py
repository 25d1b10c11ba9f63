"""Browser demo: the exported ``.tflite`` files animated in the browser with
LiteRT.js (WebAssembly), served locally by ``python -m web_demo.serve``."""
