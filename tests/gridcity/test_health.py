"""GET /healthz: 200 when the database, broker and channel layer answer, 503 naming what not."""

from gridcity import health


def test_healthz_is_200_when_everything_answers(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "channel_layer"}
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_is_503_naming_the_broker_when_it_is_down(client, db, monkeypatch, settings):
    def broker_down():
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setitem(health.CHECKS, "broker", broker_down)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["broker"]
    assert "Connection refused" in body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_503_when_the_broker_url_points_nowhere(client, db):
    from gridcity.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original

    assert response.status_code == 503
    assert "broker" in response.json()["down"]
