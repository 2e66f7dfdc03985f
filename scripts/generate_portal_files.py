"""Write what portals read from the rules in hooks/rules.py: cookiecutter.json, the form, the question table.

    python3 scripts/generate_portal_files.py          # rewrite the files
    python3 scripts/generate_portal_files.py --check  # exit 1 if a committed file differs

cookiecutter.json is written whole; template.yaml between its `# BEGIN generated` and
`# END generated` lines (the form's parameters and the values it passes on); README.md between
`<!-- questions:begin -->` and `<!-- questions:end -->`.
"""

from __future__ import annotations

import json
import re
import runpy
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES_LOADER = ROOT / "hooks" / "rules_loader.py"
BEGIN, END = "# BEGIN generated", "# END generated"
TABLE_BEGIN, TABLE_END = "<!-- questions:begin -->", "<!-- questions:end -->"
GENERATED_NOTE = "from hooks/rules.py by scripts/generate_portal_files.py: edit the rules, not this block"


def load_rules(root: Path = ROOT) -> ModuleType:
    """The rules of the template at root, read afresh by this template's one loader of them."""
    return runpy.run_path(str(RULES_LOADER))["load_rules"](root / "hooks" / "rules.py")


# --- YAML, written by hand so that the file stays readable and byte-for-byte stable ---------------


def quoted(text: str) -> str:
    """A YAML double-quoted scalar; anything but printable ASCII as an escape."""
    out = []
    for char in text:
        point = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= point < 0x7F:
            out.append(char)
        elif point <= 0xFF:
            out.append(f"\\x{point:02x}")
        elif point <= 0xFFFF:
            out.append(f"\\u{point:04x}")
        else:
            out.append(f"\\U{point:08x}")
    return '"' + "".join(out) + '"'


def scalar(value: Any) -> str:
    """A YAML scalar: plain when it reads back as itself, quoted otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    plain = text.isascii() and text.isprintable() and not re.search(r"[{}\[\]\\#&*!|>'\"%@`]", text)
    if plain and reads_back(text):
        return text
    return quoted(text)


def reads_back(text: str) -> bool:
    """Whether text, written plain after a key, reads back as itself (": " inside it would not)."""
    try:
        return yaml.safe_load(f"k: {text}") == {"k": text}
    except yaml.YAMLError:
        return False


def emit(node: Any, indent: int) -> list[str]:
    """Block-style YAML lines for a mapping; lists of scalars in flow style."""
    pad = " " * indent
    lines = []
    for key, value in node.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines.extend(emit(value, indent + 2))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{pad}{key}:")
            for item in value:
                first, *rest = emit(item, indent + 4)
                lines.append(f"{pad}  - {first.strip()}")
                lines.extend(rest)
        elif isinstance(value, list):
            lines.append(f"{pad}{key}: [{', '.join(scalar(v) for v in value)}]")
        else:
            lines.append(f"{pad}{key}: {scalar(value)}")
    return lines


# --- The form -------------------------------------------------------------------------------------


def form_field(rules: ModuleType, question: Any) -> dict[str, Any]:
    """The JSON schema (and ui: keys) of one question's form field."""
    fields: dict[str, Any] = {"title": question.title, "description": question.prompt}
    kind = question.kind
    if kind == "text":
        fields |= {
            "type": "string",
            "default": question.default,
            "minLength": 1,
            "maxLength": question.max_length,
            "pattern": rules.text_pattern(),
        }
    elif kind == "slug":
        fields |= {"type": "string", "maxLength": question.max_length, "pattern": rules.SLUG_PATTERN}
    elif kind == "module_path":
        fields |= {"type": "string", "maxLength": question.max_length, "pattern": rules.module_path_pattern()}
    elif kind == "go_version":
        fields |= {
            "type": "string",
            "default": question.default,
            "maxLength": question.max_length,
            "pattern": rules.go_line_pattern(rules.MIN_GO_MINOR),
        }
    elif kind == "port":
        fields |= {"type": "integer", "default": int(question.default), "minimum": rules.MIN_PORT}
        fields["maximum"] = rules.MAX_PORT
    elif kind == "boolean":
        fields |= {"type": "boolean", "default": question.default}
    elif kind == "owner":
        fields |= {"type": "string", "default": question.default, "pattern": rules.OWNER_PATTERN}
    elif kind == "choice":
        fields |= {"type": "string", "default": question.default[0], "enum": list(question.default)}
    minimum = go_minimum(question)
    if minimum:
        fields["ui:help"] = f"Needs Go 1.{minimum.minor} or newer."  # a ui:help of the question's own replaces it
    return fields | question.form


def go_minimum(question: Any) -> Any:
    """The oldest Go an option's dependencies accept, or None."""
    return question.option.go_minimum if question.option else None


def page_rules(rules: ModuleType, keys: list[str]) -> list[dict[str, Any]]:
    """The rules between fields of one page: the slug's name, the Go an option needs, postgres's CA bundle."""
    conditions = []
    if "project_slug" in keys:
        conditions.append(
            {
                "if": {"not": {"required": ["project_slug"]}},
                "then": {"properties": {"project_name": {"pattern": rules.NAME_FOR_SLUG_PATTERN}}},
            }
        )
    for option, question in rules.OPTIONS.items():
        minimum = go_minimum(question)
        if minimum and option in keys and "go_version" in keys:
            conditions.append(
                {
                    "if": {"properties": {option: {"const": question.option.on}}, "required": [option]},
                    "then": {"properties": {"go_version": {"pattern": rules.go_line_pattern(minimum.minor)}}},
                }
            )
    if "database" in keys and "https_client" in keys:
        conditions.append(
            {
                "if": {"properties": {"database": {"const": "postgres"}}, "required": ["database"]},
                "then": {"properties": {"https_client": {"const": True}}},
            }
        )
    return conditions


REPOSITORY_PAGE_TITLE = "Repository"


def parameters(rules: ModuleType) -> list[dict[str, Any]]:
    """The form's pages: the questions grouped by page, then the repository picker."""
    pages: list[dict[str, Any]] = []
    titles = list(dict.fromkeys(q.page for q in rules.QUESTIONS if q.page))
    for title in titles:
        questions = [q for q in rules.QUESTIONS if q.page == title]
        page: dict[str, Any] = {"title": title}
        required = [q.key for q in questions if q.key in ("project_name", "owner")]
        if required:
            page["required"] = required
        page["properties"] = {q.key: form_field(rules, q) for q in questions}
        conditions = page_rules(rules, [q.key for q in questions])
        if conditions:
            page["allOf"] = conditions
        pages.append(page)
    repository = {
        "title": "Repository location",
        "type": "string",
        "maxLength": rules.REPO_URL_MAX_LENGTH,
        "pattern": rules.REPO_URL_PATTERN,
        "ui:field": "RepoUrlPicker",
        "ui:options": {"allowedHosts": ["github.com"]},
    }
    pages.append({"title": REPOSITORY_PAGE_TITLE, "required": ["repoUrl"], "properties": {"repoUrl": repository}})
    return pages


def step_values(rules: ModuleType) -> dict[str, Any]:
    """What the fetch:cookiecutter step passes on: the fields, derived defaults, release, __ answers and location."""
    values: dict[str, Any] = {}
    for question in rules.QUESTIONS:
        key = question.key
        if key == "project_slug":
            values[key] = f"${{{{ parameters.project_slug or '{question.default}' }}}}"
        elif key == "module_path":
            url = "(parameters.repoUrl | parseRepoUrl)"
            values[key] = f"${{{{ parameters.module_path or ({url}.host + '/' + {url}.owner + '/' + {url}.repo) }}}}"
        elif key == "version":
            values[key] = question.default
        else:
            values[key] = f"${{{{ parameters.{key} }}}}"
    for key in rules.BOOLEAN_KEYS:
        values[f"__{key}"] = rules.derived_expression(key)
    values[rules.TEMPLATE_LOCATION_KEY] = rules.TEMPLATE_LOCATION  # recorded in .cruft.json
    return values


def value_line(key: str, value: str) -> str:
    """One line of the step's values, quoted only where YAML needs it."""
    if value.startswith("${{"):
        return f"          {key}: {value}"
    return f"          {key}: {quoted(value)}"


def form_block(rules: ModuleType) -> str:
    """The generated part of template.yaml's parameters."""
    lines = [f"  {BEGIN} parameters, {GENERATED_NOTE}", "  parameters:"]
    lines.extend(emit({"parameters": parameters(rules)}, 2)[1:])
    lines.append(f"  {END} parameters")
    return "\n".join(lines) + "\n"


def values_block(rules: ModuleType) -> str:
    """The generated part of the fetch step: the values passed to cookiecutter."""
    lines = [f"        {BEGIN} values, {GENERATED_NOTE}", "        values:"]
    lines.extend(value_line(key, value) for key, value in step_values(rules).items())
    lines.append(f"        {END} values")
    return "\n".join(lines) + "\n"


def replace_block(text: str, name: str, block: str) -> str:
    """Replace the lines from `# BEGIN generated name` to `# END generated name` with block."""
    pattern = re.compile(rf"^[ ]*{re.escape(BEGIN)} {name},.*?^[ ]*{re.escape(END)} {name}\n", re.M | re.S)
    if not pattern.search(text):
        raise ValueError(f"template.yaml has no generated {name} block")
    return pattern.sub(lambda _: block, text, count=1)


def template_yaml(rules: ModuleType, current: str) -> str:
    """template.yaml with its generated blocks rewritten."""
    return replace_block(replace_block(current, "parameters", form_block(rules)), "values", values_block(rules))


# --- cookiecutter.json and the README ---------------------------------------------------------------


def cookiecutter_json(rules: ModuleType) -> str:
    """cookiecutter.json: the questions and defaults, the derived booleans, the sandbox, the prompts."""
    config: dict[str, Any] = {q.key: q.default for q in rules.QUESTIONS}
    config |= {f"__{key}": rules.derived_expression(key) for key in rules.BOOLEAN_KEYS}
    config[rules.TEMPLATE_LOCATION_KEY] = rules.TEMPLATE_LOCATION
    config["_extensions"] = list(rules.EXTENSIONS)
    config["__prompts__"] = {q.key: q.prompt for q in rules.QUESTIONS}
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


PORTAL_NOTE = (
    "Generated from `hooks/rules.py`. A portal, bot or CI job passes only these keys, never a `_` key: "
    "[docs/portal-inputs.md](docs/portal-inputs.md) lists the inputs it must never take from a user, and why."
)


def question_table(rules: ModuleType) -> str:
    """The README's table of questions."""
    rows = ["| Key | Default | Allowed |", "| --- | --- | --- |"]
    for question in rules.QUESTIONS:
        allowed = question.allowed
        minimum = go_minimum(question)
        if minimum:
            allowed += f"; needs `go_version` >= 1.{minimum.minor}"
        rows.append(f"| `{question.key}` | {question.readme_default} | {allowed} |")
    rows += ["", PORTAL_NOTE]
    return "\n".join(rows) + "\n"


def readme(rules: ModuleType, current: str) -> str:
    """README.md with its question table rewritten."""
    start, end = current.index(TABLE_BEGIN) + len(TABLE_BEGIN), current.index(TABLE_END)
    return current[:start] + "\n" + question_table(rules) + current[end:]


def generated(root: Path = ROOT, rules: ModuleType | None = None) -> dict[Path, str]:
    """Each generated file's path and the content the rules give it."""
    rules = rules or load_rules(root)
    return {
        root / "cookiecutter.json": cookiecutter_json(rules),
        root / "template.yaml": template_yaml(rules, (root / "template.yaml").read_text(encoding="utf-8")),
        root / "README.md": readme(rules, (root / "README.md").read_text(encoding="utf-8")),
    }


def stale(root: Path = ROOT, rules: ModuleType | None = None) -> list[Path]:
    """The generated files whose committed content differs from what the rules give."""
    return [path for path, text in generated(root, rules).items() if path.read_text(encoding="utf-8") != text]


def main(argv: list[str]) -> int:
    """Rewrite the files, or with --check say which differ."""
    if argv[1:] == ["--check"]:
        paths = stale()
        for path in paths:
            print(f"error: {path.name} is not what hooks/rules.py gives: run python3 scripts/generate_portal_files.py")
        return 1 if paths else 0
    for path, text in generated().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
