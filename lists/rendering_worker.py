"""Renders practice lists for `lists.outbox.render_practice_files`, in a process of its own.

    python -m lists.rendering_worker < pickled lists > pickled documents

Reads a pickled list of `PracticeList` from stdin and writes the pickled list of their
(csv, xlsx, html) bytes (`rendering.practice_documents`) to stdout. Imports only the
renderers, so it starts in about a quarter of a second. Holds NHS numbers in memory only:
it writes nothing but its answer to the parent, and logs nothing.
"""

from __future__ import annotations

import pickle
import sys

from lists.rendering import practice_documents


def main() -> None:
    items = pickle.load(sys.stdin.buffer)  # from the parent process only
    pickle.dump([practice_documents(item) for item in items], sys.stdout.buffer)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
