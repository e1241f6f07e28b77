"""What each lasting refusal says, in the words of the configuration and of the options."""

from __future__ import annotations

from sync.broker_refusal import CONFIG_SETTINGS, OPTION_SETTINGS, Refused, classify

URL = "mqtt://10.0.0.5:1883"


def test_a_protocol_refusal_names_the_other_version_to_set() -> None:
    for protocol, other in (("5", "3.1.1"), ("3.1.1", "5")):
        refusal = classify(URL, protocol, 0x84, "Unsupported protocol version")  # type: ignore[arg-type]
        assert refusal is not None and refusal.what is Refused.PROTOCOL
        assert refusal.message(CONFIG_SETTINGS) == (
            f"broker {URL} refused MQTT {protocol} (unsupported protocol version): "
            f'set broker.protocol = "{other}"'
        )
        assert refusal.message(OPTION_SETTINGS).endswith(f"use --mqtt-protocol {other}")


def test_a_client_id_refusal_points_at_the_client_id() -> None:
    refusal = classify(URL, "3.1.1", 0x85, "Client identifier not valid")
    assert refusal is not None
    assert refusal.message(CONFIG_SETTINGS).startswith(
        f"broker {URL} refused the client id (client identifier not valid): set broker.client_id"
    )
    assert "--client-id" in refusal.message(OPTION_SETTINGS)


def test_a_busy_or_unavailable_broker_is_worth_retrying() -> None:
    assert classify(URL, "5", 0x88, "Server unavailable") is None
    assert classify(URL, "5", 0x89, "Server busy") is None
