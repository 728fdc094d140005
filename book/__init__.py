"""The book's own machinery, kept out of the library readers install (``kerascool_lib``).

- :mod:`book.toc`: the pages and chapter notebooks that ``_toc.yml`` lists, in book order;
- :mod:`book.sphinx_ext`: the Sphinx extension (``_config.yml``, ``sphinx: local_extensions``),
  with :mod:`book.assets` (the front-end packages in ``book/web/``, served without a CDN) and
  :mod:`book.api` (the API reference pages and where each public name is used);
- :mod:`book.stats`: the *Execution statistics* page's numbers, and ``python -m book.stats``;
- :mod:`book.execute`: ``python -m book.execute``, run chapters in place and store their outputs;
- :mod:`book.pytest_plugin`: records a full test run for the statistics page.

It needs the book's tool chain (``pip install -e ".[book]"``); the library never imports it.
"""
