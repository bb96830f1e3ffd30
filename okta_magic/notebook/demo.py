"""``python -m okta_magic.notebook.demo``: run the quickstart notebook end to end against the sandbox org.

Executes ``notebooks/quickstart.ipynb`` headless in a fresh kernel (nbclient),
writes the executed copy, and prints its path and the first rows of the users
table. ``make demo`` calls this; the tests run every notebook the same way.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "notebooks"


def run_notebook(source: pathlib.Path, out_dir: pathlib.Path, *, timeout: int = 300) -> pathlib.Path:
    """Execute a notebook in a fresh kernel with its folder as working directory; returns the executed copy."""
    import tempfile

    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(source, as_version=4)
    with tempfile.TemporaryDirectory() as sockets:
        # Talk to the kernel over local sockets, not TCP ports other local users could reach.
        km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel")
        try:
            NotebookClient(nb, km=km, timeout=timeout,
                           resources={"metadata": {"path": str(source.parent)}}).execute()
        finally:
            if km.has_kernel:  # a kernel manager we pass in is ours to stop
                km.shutdown_kernel(now=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / source.name
    nbformat.write(nb, target)
    return target


def tagged_output(path: pathlib.Path, tag: str) -> str:
    """The value the cell carrying ``tag`` shows (e.g. the users table's head): its result's text/plain, else its
    first text output (a line printed before the result, such as a sign-in's, is not the value)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if tag in cell.get("metadata", {}).get("tags", []):
            outputs = cell.get("outputs", [])
            results = [o for o in outputs if o.get("output_type") == "execute_result"]
            for output in results or outputs:
                text = output.get("data", {}).get("text/plain") or output.get("text")
                if text:
                    return str(text)
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--notebook", type=pathlib.Path, default=NOTEBOOKS / "quickstart.ipynb")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("build"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        executed = run_notebook(args.notebook, args.out)
    except Exception as exc:  # show the failing cell's error, not nbclient's internals
        print(f"{args.notebook.name} failed: {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}",
              file=sys.stderr)
        return 1
    print(f"Executed {args.notebook.name} against the sandbox org in {time.perf_counter() - started:.1f} s.")
    print(f"Executed notebook: {executed.resolve()}")
    print("\nFirst rows of the users table:\n")
    print(tagged_output(executed, "users-head") or "(no users table found)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
