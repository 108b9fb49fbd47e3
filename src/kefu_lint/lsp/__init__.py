"""``kefu-lint server``: the language server (server.py). Needs the ``lsp`` extra."""
