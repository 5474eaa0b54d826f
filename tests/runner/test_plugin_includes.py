"""The plugin confines includes to pytest's rootdir: a spec in a sub-folder includes a shared setup from
beside it, and a hostile include is a collection error naming the spec line, never a read (issue 10, 6)."""

from __future__ import annotations

import pytest

SPEC = '''spec "Uses the shared setup"
  setup
    include setup "up" from "{path}"
  scenario "one"
    wait 1 s
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\n")  # the rootdir: pytester.path
    (pytester.path / "specs" / "common").mkdir(parents=True)
    (pytester.path / "specs" / "metering").mkdir()
    (pytester.path / "specs" / "common" / "setup.spec").write_text('setup "up"\n  charger booted\n')
    return pytester


def test_an_include_from_a_sibling_folder_collects(project: pytest.Pytester) -> None:
    spec = project.path / "specs" / "metering" / "x.spec"
    spec.write_text(SPEC.format(path="../common/setup.spec"))
    items, _ = project.inline_genitems("-p", "no:cacheprovider", str(spec))
    assert [i.nodeid for i in items] == ["specs/metering/x.spec::Uses the shared setup::one"]
    assert [s.step for s in items[0].plan.setup] == ["charger.booted"]


def test_an_include_outside_the_rootdir_is_a_collection_error(project: pytest.Pytester) -> None:
    spec = project.path / "specs" / "metering" / "x.spec"
    spec.write_text(SPEC.format(path="../../../etc/passwd"))
    result = project.runpytest("-p", "no:cacheprovider", "--collect-only", str(spec))
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # a spec error is a usage error (README exit codes)
    result.stdout.fnmatch_lines(
        [f'*x.spec:3:29: include path "../../../etc/passwd" leads out of the spec root "{project.path}" —*'])
    assert "root:" not in result.stdout.str()
