#!/usr/bin/env python3
"""Fails if a src/ folder includes a header from a folder it may not depend on (docs/ARCHITECTURE.md)."""
import pathlib
import re
import sys

# folder -> folders it may include (besides itself). Keep in step with the DEPS in each src/*/CMakeLists.txt.
ALLOWED = {
    "base": set(),
    "tensor": {"base"},
    "format": {"base", "tensor"},
    "tokenizer": {"base", "format", "tensor"},
    "chat": {"base"},
    "sample": {"base"},
    "kernels": {"base", "tensor"},
    "model": {"base", "tensor", "format", "kernels"},
    "quant": {"base", "tensor", "format"},
    "engine": {"base", "tensor", "format", "kernels", "model", "tokenizer", "sample", "chat"},
    "server": {"base", "tensor", "format", "kernels", "model", "tokenizer", "sample", "chat", "engine"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')

def main(src: pathlib.Path) -> int:
    problems = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in {".h", ".cc", ".cpp", ".hpp"}:
            continue
        folder = path.relative_to(src).parts[0]
        allowed = ALLOWED.get(folder)
        if allowed is None:
            problems.append(f"{path}: folder '{folder}' has no layering rule in check_layering.py")
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if m and m.group(1) != folder and m.group(1) in ALLOWED and m.group(1) not in allowed:
                problems.append(f"{path}:{n}: {folder}/ may not include {m.group(1)}/ ({line.strip()})")
    for p in problems:
        print(p)
    print(f"layering: {len(problems)} problem(s)")
    return 1 if problems else 0

if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
