"""chat/kernel/settings.py: defaults, the development secret, and refusal of every bad value."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest

from chat.kernel.exceptions import ConfigurationError
from chat.kernel.settings import SETTINGS_HELP, Settings

SECRET = "k" * 48


def load(tmp_path: Path, **values: str) -> Settings:
    env = {"JOURCHATT_VAR_DIR": str(tmp_path / "var")}
    env.update({f"JOURCHATT_{k.upper()}": v for k, v in values.items()})
    return Settings.from_env(environ=env, dotenv=False)


def refused(tmp_path: Path, **values: str) -> str:
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, **values)
    return str(info.value)


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert s.embedded
    assert s.database_url == f"sqlite:///{tmp_path / 'var' / 'jourchatt.sqlite3'}"
    assert s.broker_url == "memory://"
    assert s.allowed_origins == ()
    assert (s.log_format, s.log_level, s.timezone) == ("console", "info", "Europe/Stockholm")
    assert (s.max_sockets, s.max_queue) == (20000, 2000)
    assert isinstance(s.max_queue, int)
    assert (s.visitor_grace_s, s.volunteer_grace_s) == (120.0, 20.0)
    assert (s.idle_warn_s, s.idle_close_s, s.wrapup_timeout_s) == (600.0, 300.0, 1800.0)
    assert (s.session_idle_s, s.session_max_s) == (7200.0, 43200.0)


def test_empty_values_count_as_unset(tmp_path: Path) -> None:
    s = load(tmp_path, max_queue="", log_level="  ", broker_url="")
    assert (s.max_queue, s.log_level, s.broker_url) == (2000, "info", "memory://")


def test_embedded_dev_secret_is_generated_once_and_kept_with_mode_0600(tmp_path: Path) -> None:
    first = load(tmp_path)
    path = tmp_path / "var" / "secret_key"
    assert path.read_text().strip() == first.secret_key
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(tmp_path).secret_key == first.secret_key
    assert first.secret == first.secret_key.encode()


def test_dev_secret_creates_a_missing_var_dir(tmp_path: Path) -> None:
    s = Settings.from_env(environ={"JOURCHATT_VAR_DIR": str(tmp_path / "a" / "b")}, dotenv=False)
    assert (tmp_path / "a" / "b" / "secret_key").read_text().strip() == s.secret_key


def test_dev_secret_differs_between_var_dirs(tmp_path: Path) -> None:
    one = Settings.from_env(environ={"JOURCHATT_VAR_DIR": str(tmp_path / "one")}, dotenv=False)
    two = Settings.from_env(environ={"JOURCHATT_VAR_DIR": str(tmp_path / "two")}, dotenv=False)
    assert one.secret_key != two.secret_key


@pytest.mark.parametrize("content", ["", "\n", "short"])
def test_empty_or_short_persisted_dev_secret_is_refused_not_used(tmp_path: Path, content: str) -> None:
    # e.g. a file left empty by a crash, or read by a second process before the first wrote it
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret_key").write_text(content)
    with pytest.raises(ConfigurationError):
        load(tmp_path)


def test_explicit_secret_is_used_and_no_file_is_written(tmp_path: Path) -> None:
    s = load(tmp_path, secret_key=f"  {SECRET}  ")
    assert s.secret_key == SECRET
    assert not (tmp_path / "var" / "secret_key").exists()


@pytest.mark.parametrize("overrides", [
    {"database_url": "postgresql://jc@db/jourchatt"},
    {"broker_url": "redis://localhost:6379/0"},
    {"broker_url": "rediss://cache:6380/0"},
])
def test_non_embedded_setup_requires_a_secret(tmp_path: Path, overrides: dict[str, str]) -> None:
    assert "JOURCHATT_SECRET_KEY" in refused(tmp_path, **overrides)
    assert not (tmp_path / "var" / "secret_key").exists()


def test_non_embedded_setup_with_a_secret_defaults_to_json_logs(tmp_path: Path) -> None:
    s = load(tmp_path, database_url="postgresql://jc@db/jourchatt", secret_key=SECRET)
    assert not s.embedded
    assert s.log_format == "json"
    assert load(tmp_path, broker_url="redis://r/0", secret_key=SECRET, log_format="console").log_format == "console"


def test_log_format_can_be_json_on_the_embedded_setup(tmp_path: Path) -> None:
    assert load(tmp_path, log_format="json").log_format == "json"


def test_secret_shorter_than_32_characters_is_refused_without_echoing_it(tmp_path: Path) -> None:
    message = refused(tmp_path, secret_key="ZQXsecretZQX" + "x" * 19)   # 31 characters
    assert "JOURCHATT_SECRET_KEY" in message
    assert "ZQXsecretZQX" not in message
    assert len(load(tmp_path, secret_key="x" * 32).secret_key) == 32


def test_secret_does_not_appear_in_repr(tmp_path: Path) -> None:
    assert SECRET not in repr(load(tmp_path, secret_key=SECRET))


def test_settings_are_frozen(tmp_path: Path) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        load(tmp_path).max_queue = 1  # type: ignore[misc]


@pytest.mark.parametrize("name", ["JOURCHATT_MAX_QUEUES", "JOURCHATT_SECRET", "JOURCHATT_"])
def test_unknown_jourchatt_variable_is_refused_by_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env(environ={"JOURCHATT_VAR_DIR": str(tmp_path), name: "1"}, dotenv=False)
    assert name in str(info.value)


def test_other_environment_variables_are_ignored(tmp_path: Path) -> None:
    env = {"JOURCHATT_VAR_DIR": str(tmp_path), "PATH": "/bin", "jourchatt_lower": "x"}
    assert Settings.from_env(environ=env, dotenv=False).embedded


def test_dotenv_is_read_only_when_asked_and_never_overrides_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("# comment\nJOURCHATT_MAX_QUEUE='77'\nJOURCHATT_LOG_LEVEL=error\n")
    env = {"JOURCHATT_VAR_DIR": str(tmp_path / "var"), "JOURCHATT_LOG_LEVEL": "debug"}
    assert Settings.from_env(environ=env, dotenv=False).max_queue == 2000
    s = Settings.from_env(environ=env, dotenv=True)
    assert (s.max_queue, s.log_level) == (77, "debug")


def test_origins_are_split_trimmed_and_lose_a_trailing_slash(tmp_path: Path) -> None:
    s = load(tmp_path, allowed_origins=" https://a.example/ , http://localhost:8000,, ")
    assert s.allowed_origins == ("https://a.example", "http://localhost:8000")


@pytest.mark.parametrize("origin", ["example.org", "ftp://example.org", "//example.org", "ws://example.org"])
def test_origin_without_http_scheme_is_refused(tmp_path: Path, origin: str) -> None:
    assert "JOURCHATT_ALLOWED_ORIGINS" in refused(tmp_path, allowed_origins=f"https://ok.example,{origin}")


@pytest.mark.parametrize("url", ["amqp://x", "redis:/x", "memory"])
def test_broker_url_with_unknown_scheme_is_refused(tmp_path: Path, url: str) -> None:
    assert "JOURCHATT_BROKER_URL" in refused(tmp_path, broker_url=url)


@pytest.mark.parametrize("level", ["DEBUG", "info", "Warning", "error"])
def test_log_level_is_case_insensitive(tmp_path: Path, level: str) -> None:
    assert load(tmp_path, log_level=level).log_level == level.lower()


def test_unknown_log_level_or_format_is_refused(tmp_path: Path) -> None:
    assert "JOURCHATT_LOG_LEVEL" in refused(tmp_path, log_level="verbose")
    assert "JOURCHATT_LOG_FORMAT" in refused(tmp_path, log_format="xml")


def test_numbers_are_parsed_as_their_field_type(tmp_path: Path) -> None:
    s = load(tmp_path, max_queue="50", max_sockets="2000.0", visitor_grace_s="1.5", idle_warn_s="60")
    assert (s.max_queue, s.max_sockets) == (50, 2000)
    assert isinstance(s.max_sockets, int)
    assert (s.visitor_grace_s, s.idle_warn_s) == (1.5, 60.0)


def test_integer_setting_with_a_fraction_is_refused_not_truncated(tmp_path: Path) -> None:
    assert "JOURCHATT_MAX_SOCKETS" in refused(tmp_path, max_sockets="2000.7")


@pytest.mark.parametrize("name", [n.removeprefix("JOURCHATT_").lower() for n in SETTINGS_HELP
                                  if n.endswith("_S") or n.startswith("JOURCHATT_MAX_")])
@pytest.mark.parametrize("raw", ["abc", "10s", "0", "-1"])
def test_numeric_setting_that_is_not_a_positive_number_is_refused(tmp_path: Path, name: str, raw: str) -> None:
    assert f"JOURCHATT_{name.upper()}" in refused(tmp_path, **{name: raw})


@pytest.mark.parametrize("name", ["max_queue", "visitor_grace_s"])
@pytest.mark.parametrize("raw", ["nan", "inf"])
def test_numeric_setting_that_is_not_finite_is_refused(tmp_path: Path, name: str, raw: str) -> None:
    assert f"JOURCHATT_{name.upper()}" in refused(tmp_path, **{name: raw})


@pytest.mark.parametrize("name", ["max_queue", "max_sockets"])
def test_integer_setting_that_truncates_to_zero_is_refused(tmp_path: Path, name: str) -> None:
    # "must be greater than zero": 0.5 must not become a limit of 0
    assert f"JOURCHATT_{name.upper()}" in refused(tmp_path, **{name: "0.5"})


def test_unknown_time_zone_is_refused_at_start_up(tmp_path: Path) -> None:
    assert "JOURCHATT_TIMEZONE" in refused(tmp_path, timezone="Mars/Olympus")


def test_known_time_zone_is_accepted(tmp_path: Path) -> None:
    assert load(tmp_path, timezone="UTC").timezone == "UTC"


def test_every_settings_field_has_a_documented_variable() -> None:
    names = {"JOURCHATT_" + f.name.upper() for f in dataclasses.fields(Settings)}
    assert names == set(SETTINGS_HELP)


def test_metrics_token_is_unset_by_default_and_kept_out_of_repr(tmp_path: Path) -> None:
    assert load(tmp_path).metrics_token == ""
    token = "ZQXmetricsZQX" + "y" * 30
    settings = load(tmp_path, metrics_token=token)
    assert settings.metrics_token == token
    assert token not in repr(settings)


@pytest.mark.parametrize("token", ["short", "x" * 31, "x" * 20 + " " + "x" * 20, "x" * 40 + "é"])
def test_weak_or_unsendable_metrics_token_is_refused_without_echoing_it(tmp_path: Path, token: str) -> None:
    message = refused(tmp_path, metrics_token=token)
    assert "JOURCHATT_METRICS_TOKEN" in message
    assert token not in message


def test_a_sentinel_url_is_read_and_needs_a_secret(tmp_path: Path) -> None:
    url = "redis+sentinel://s1:26379,s2,[::1]:26380/jc/3"
    assert "JOURCHATT_SECRET_KEY" in refused(tmp_path, broker_url=url)
    s = load(tmp_path, broker_url=url, secret_key=SECRET)
    assert s.broker_url == url and not s.embedded
    from chat.kernel.broker import sentinel
    assert sentinel.parse(url) == sentinel.SentinelURL(
        (("s1", 26379), ("s2", 26379), ("::1", 26380)), "jc", 3)
    assert sentinel.parse("redis+sentinel://s1/jc").db == 0


@pytest.mark.parametrize(("url", "says"), [
    ("redis+sentinel://s1:26379", "name the master"),
    ("redis+sentinel://s1:26379/", "name the master"),
    ("redis+sentinel://s1:port/jc/0", "'s1:port' is not a sentinel address"),
    ("redis+sentinel://s1:0/jc/0", "is not a sentinel address"),
    ("redis+sentinel://s1,,s2/jc/0", "'' is not a sentinel address"),
    ("redis+sentinel://s1/jc/zero", "a database number"),
    ("redis+sentinel://s1/jc/0/1", "a database number"),
    ("redis+sentinel://:pw@s1/jc/0", "credentials"),
])
def test_a_malformed_sentinel_url_is_refused_naming_the_setting(tmp_path: Path, url: str, says: str) -> None:
    message = refused(tmp_path, broker_url=url, secret_key=SECRET)
    assert message.startswith("JOURCHATT_BROKER_URL: ") and says in message


def test_waiting_for_replicas_is_off_by_default_and_read_when_set(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert (s.broker_wait_replicas, s.broker_wait_timeout_ms) == (0, 1000)
    s = load(tmp_path, broker_url="redis://r/0", secret_key=SECRET, broker_wait_replicas="1",
             broker_wait_timeout_ms="250")
    assert (s.broker_wait_replicas, s.broker_wait_timeout_ms) == (1, 250)
    assert load(tmp_path, broker_wait_replicas="0").broker_wait_replicas == 0


@pytest.mark.parametrize(("values", "name"), [
    ({"broker_wait_replicas": "-1"}, "JOURCHATT_BROKER_WAIT_REPLICAS"),
    ({"broker_wait_replicas": "one"}, "JOURCHATT_BROKER_WAIT_REPLICAS"),
    ({"broker_wait_replicas": "1.5"}, "JOURCHATT_BROKER_WAIT_REPLICAS"),
    ({"broker_wait_timeout_ms": "0"}, "JOURCHATT_BROKER_WAIT_TIMEOUT_MS"),
    ({"broker_wait_timeout_ms": "4001"}, "JOURCHATT_BROKER_WAIT_TIMEOUT_MS"),
    ({"broker_wait_timeout_ms": "2.5"}, "JOURCHATT_BROKER_WAIT_TIMEOUT_MS"),
])
def test_bad_wait_settings_are_refused_by_name(tmp_path: Path, values: dict[str, str], name: str) -> None:
    assert name in refused(tmp_path, broker_url="redis://r/0", secret_key=SECRET, **values)


def test_waiting_for_replicas_is_refused_without_redis(tmp_path: Path) -> None:
    assert "JOURCHATT_BROKER_WAIT_REPLICAS" in refused(tmp_path, broker_wait_replicas="1")


def test_the_wait_timeout_limit_is_the_brokers() -> None:
    from chat.kernel.broker import redis as redis_broker
    from chat.kernel import settings
    assert settings.MAX_WAIT_TIMEOUT_MS == redis_broker.MAX_WAIT_TIMEOUT_MS
