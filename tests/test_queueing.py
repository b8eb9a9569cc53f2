import ast
import re
from pathlib import Path

from helpcenter.celery import app

ROOT = Path(__file__).resolve().parent.parent
APPS = ("helpcenter", "foundation", "kb", "cases", "notifications", "insights")
TASK_NAME = re.compile(r"(?:helpcenter|foundation|kb|cases|notifications|insights)\.tasks\.[a-z_]+")


def _task_names_in_the_code() -> dict[str, str]:
    """Every string in the apps' code that names a task, with where it stands."""
    names = {}
    for app_name in APPS:
        for path in (ROOT / app_name).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
                if is_text and TASK_NAME.fullmatch(node.value):
                    names[node.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return names


def test_every_task_the_services_queue_by_name_is_a_registered_task():
    """Services queue tasks by name (foundation.queueing), so a misspelt name would only show
    as a message no worker knows: every name in the code must be a task the worker registers."""
    app.loader.import_default_modules()  # what a worker does at start: autodiscover the tasks
    names = _task_names_in_the_code()

    assert "kb.tasks.sync_article_to_index" in names  # the scan finds the services' names
    unknown = {name: where for name, where in names.items() if name not in app.tasks}
    assert unknown == {}
