"""Guessing passwords, from the attacker's side: the lockout holds however the guesses are spread.

django-axes locks a user name, and an address, after ``AXES_FAILURE_LIMIT`` failures. Two ways
round it were open: a good log-in as another person (the attacker's own citizen account)
forgave the address every failure, against every user name; and behind no proxy a made-up
``X-Forwarded-For`` was taken for the client's address by uvicorn. Both are tried here against
the web form and the handheld token log-in, the second against a real uvicorn started the way
``make run`` starts it.
"""

import pytest

from accounts.models import Role
from tests import liveserver
from tests.factories import PASSWORD, make_user

TOKEN_URL = "/api/v1/auth/token/"
WEB_URL = "/accounts/login/"


def token_log_in(client, username, password, **headers):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": password, "device_id": "pda-attacker"},
        content_type="application/json",
        **headers,
    )


def web_log_in(client, username, password, **headers):
    client.logout()
    return client.post(WEB_URL, {"username": username, "password": password}, **headers)


LOG_INS = {"token": token_log_in, "web": web_log_in}
REFUSED = {"token": 401, "web": 200}  # the web form shows itself again with the error
ACCEPTED = {"token": 201, "web": 302}


@pytest.fixture
def victim(small_city):
    return make_user("supervisor-li", Role.SUPERVISOR, street=small_city.streets[0])


@pytest.fixture
def accomplice(db):
    """The attacker's own account: a citizen anyone can register."""
    return make_user("citizen-attacker", Role.CITIZEN)


@pytest.mark.parametrize("way", ["token", "web"])
def test_a_good_log_in_as_someone_else_does_not_forgive_guesses_at_a_supervisor(
    client, victim, accomplice, settings, way
):
    log_in = LOG_INS[way]
    limit = settings.AXES_FAILURE_LIMIT
    answers = []
    # 9 wrong passwords for the supervisor, one good log-in as the citizen, repeat: 36 guesses.
    for round_ in range(4):
        for n in range(limit - 1):
            answers.append(log_in(client, "supervisor-li", f"guess {round_}-{n}").status_code)
        good = log_in(client, "citizen-attacker", PASSWORD)
        assert good.status_code in (ACCEPTED[way], 429)

    # The guess that reaches the limit locks the name (429), and so does every one after it.
    assert answers[: limit - 1] == [REFUSED[way]] * (limit - 1), answers
    assert set(answers[limit - 1 :]) == {429}, answers
    # And the supervisor's real password is refused too while the lockout lasts.
    assert log_in(client, "supervisor-li", PASSWORD).status_code == 429


@pytest.mark.parametrize("way", ["token", "web"])
def test_my_own_good_log_in_forgives_my_own_typos(client, victim, settings, way):
    log_in = LOG_INS[way]
    limit = settings.AXES_FAILURE_LIMIT
    for _round in range(3):
        for n in range(limit - 1):
            assert log_in(client, "supervisor-li", f"typo {n}").status_code == REFUSED[way]
        assert log_in(client, "supervisor-li", PASSWORD).status_code == ACCEPTED[way]


@pytest.mark.parametrize("way", ["token", "web"])
def test_guesses_spread_over_many_user_names_lock_the_address(
    client, small_city, accomplice, settings, way
):
    log_in = LOG_INS[way]
    limit = settings.AXES_FAILURE_LIMIT
    answers = []
    for n in range(limit + 2):
        answers.append(log_in(client, f"someone-{n}", "123456").status_code)
        if n % 3 == 2:
            log_in(client, "citizen-attacker", PASSWORD)

    assert answers[: limit - 1] == [REFUSED[way]] * (limit - 1), answers
    assert set(answers[limit - 1 :]) == {429}, answers


def test_a_made_up_forwarded_for_does_not_escape_the_lockout_in_django(client, victim, settings):
    assert settings.GRIDCITY_TRUSTED_PROXIES == 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        token_log_in(client, "supervisor-li", f"guess {n}")

    spoofed = token_log_in(client, "someone-else", "123456", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert spoofed.status_code == 429


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory):
    return liveserver.template(tmp_path_factory.getbasetemp())


def test_a_made_up_forwarded_for_does_not_escape_the_lockout_on_the_real_server(
    seeded_template, tmp_path, settings
):
    var, seeded = liveserver.var_copy(seeded_template, tmp_path / "var")
    supervisor = seeded["usernames"]["supervisor"]

    def token_log_in(username, password, **headers):
        body = {"username": username, "password": password, "device_id": "pda-attacker"}
        return liveserver.request(server, "POST", TOKEN_URL, body=body, headers=headers)

    # GRIDCITY_TRUSTED_PROXIES=0, the default: no proxy stands in front of this server.
    with liveserver.Server(var, log=tmp_path / "server.log") as server:
        answers = [token_log_in(supervisor, f"guess {n}")[0] for n in range(20)]
        assert answers.count(401) == settings.AXES_FAILURE_LIMIT - 1, answers
        assert set(answers[settings.AXES_FAILURE_LIMIT - 1 :]) == {429}, answers

        # Each guess now claims to come from somewhere else, the way proxies would say it.
        for n, claimed in enumerate(
            [
                {"X-Forwarded-For": "203.0.113.7"},
                {"X-Forwarded-For": "203.0.113.8, 198.51.100.1"},
                {"X-Real-IP": "203.0.113.9"},
                {"Forwarded": "for=203.0.113.10"},
                {"X-Forwarded-For": "127.0.0.2", "X-Forwarded-Proto": "https"},
            ]
        ):
            status, body = token_log_in(f"someone-{n}", "123456", **claimed)
            assert status == 429, (claimed, status, body)
        # Nor does the right password get through until the cool-off ends.
        status, _ = token_log_in(supervisor, seeded["password"], **{"X-Forwarded-For": "10.1.1.1"})
        assert status == 429
