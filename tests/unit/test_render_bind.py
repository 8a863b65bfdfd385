"""Every way a server is told to listen on loopback becomes 0.0.0.0 inside the image; other
loopback addresses (a database host in a script) are left alone."""

from __future__ import annotations

import pytest

from moai_deploy.render.bind import container_command


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["uvicorn", "a:app", "--host", "127.0.0.1"], ["uvicorn", "a:app", "--host", "0.0.0.0"]),
        (["uvicorn", "a:app", "--host=localhost"], ["uvicorn", "a:app", "--host=0.0.0.0"]),
        (["flask", "run", "-H", "::1"], ["flask", "run", "-H", "0.0.0.0"]),
        (
            ["gunicorn", "-b", "127.0.0.1:8000", "w:app"],
            ["gunicorn", "-b", "0.0.0.0:8000", "w:app"],
        ),
        (["gunicorn", "--bind=localhost:80", "w:app"], ["gunicorn", "--bind=0.0.0.0:80", "w:app"]),
        (
            ["hypercorn", "--bind", "[::1]:8000", "a:app"],
            ["hypercorn", "--bind", "0.0.0.0:8000", "a:app"],
        ),
        (
            ["waitress-serve", "--listen=127.0.0.1:8000", "a:b"],
            ["waitress-serve", "--listen=0.0.0.0:8000", "a:b"],
        ),
        (
            ["python", "manage.py", "runserver", "127.0.0.1:8000"],
            ["python", "manage.py", "runserver", "0.0.0.0:8000"],
        ),
        (["app", "--db", "127.0.0.1:5432"], ["app", "--db", "127.0.0.1:5432"]),
        (["app", "--host", "10.0.0.5"], ["app", "--host", "10.0.0.5"]),
    ],
)
def test_loopback_listen_addresses_become_public(command: list[str], expected: list[str]) -> None:
    assert list(container_command(tuple(command))) == expected


def test_script_arguments_are_rewritten_only_where_a_server_listens() -> None:
    script = (
        "python manage.py migrate && DB=localhost:5432 gunicorn -b 127.0.0.1:8000 w:app "
        "|| uvicorn a:app --host localhost --port 8000; python manage.py runserver localhost:9000"
    )
    (_, _, out) = container_command(("bash", "-c", script))
    assert out == (
        "python manage.py migrate && DB=localhost:5432 gunicorn -b 0.0.0.0:8000 w:app "
        "|| uvicorn a:app --host 0.0.0.0 --port 8000; python manage.py runserver 0.0.0.0:9000"
    )
