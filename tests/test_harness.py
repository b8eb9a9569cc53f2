"""The harness the benchmarks share with these tests: the SMTP sink in a process of its own."""

import smtplib
from email.message import EmailMessage

from tests.conftest import wait_for
from tests.harness import SinkProcess


def test_sink_process_records_each_recipient_with_the_message_id(tmp_path):
    sink = SinkProcess(tmp_path)
    sink.start()
    try:
        message = EmailMessage()
        message["From"] = "ayuda@example.com"
        message["To"] = "Ana@Example.com, luis@example.com"
        message["Subject"] = "Tu caso"
        message["Message-ID"] = "<caso-1@example.com>"
        message.set_content("Hola")
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
            client.send_message(message)
        wait_for(lambda: sink.poll() == 2, timeout=10)
    finally:
        sink.stop()
    assert sorted(recipient for _, recipient, _ in sink.accepted) == [
        "ana@example.com",
        "luis@example.com",
    ]
    assert {message_id for _, _, message_id in sink.accepted} == {"<caso-1@example.com>"}
    assert sink.process.poll() is not None  # stopped with its caller
