#!/usr/bin/env bash
# Fetches reference files the tests read but the repository does not commit, because their
# licences ask for terms a copy here would have to carry (both are Meta's, under the Llama 3
# Community License):
#   models/llama3/tokenizer.model   Llama 3.x's tokenizer (tiktoken ranks, 128,000 tokens), from
#       Meta's PyPI wheel llama-models==0.3.0;
#   models/llama3/chat_template.jinja   Llama-3.1-8B-Instruct's chat template (the one its
#       tokenizer_config.json and GGUFs carry), from the llama.cpp sources vendored in the
#       llama-cpp-python 0.3.36 source archive on PyPI (models/templates/).
# The text tests check labelcast's Llama 3 tokenizer and its rendering of the template against
# tests/reference/text/llama3_ids.json (written by llama3_reference.py).
# Idempotent; verifies each file's SHA-256.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/pypi-file.sh llama-models==0.3.0 llama_models/llama3/tokenizer.model \
  models/llama3/tokenizer.model 82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55
scripts/pypi-file.sh \
  https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-0.3.36.tar.gz \
  llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja \
  models/llama3/chat_template.jinja e10ca381b1ccc5cf9db52e371f3b6651576caee0a630b452e2816b2d404d4b65
