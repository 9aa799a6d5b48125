from conference.link import LinkJudge
from conference.room import LINK_GOOD, LINK_POOR, LINK_WEAK


def test_sustained_loss_downgrades_and_sustained_recovery_upgrades() -> None:
    judge = LinkJudge()
    assert [judge.add(0.2) for _ in range(3)] == [LINK_GOOD, LINK_GOOD, LINK_POOR]
    assert [judge.add(0.0) for _ in range(5)][-2:] == [LINK_POOR, LINK_GOOD]


def test_one_bad_sample_changes_nothing() -> None:
    judge = LinkJudge()
    for loss in (0.0, 0.3, 0.0, 0.3, 0.0, 0.3):
        assert judge.add(loss) == LINK_GOOD


def test_moderate_loss_means_weak() -> None:
    judge = LinkJudge()
    assert [judge.add(0.06) for _ in range(3)][-1] == LINK_WEAK


def test_a_receive_estimate_below_what_we_send_downgrades_before_any_loss() -> None:
    judge = LinkJudge()
    assert [judge.add(0.0, 700, sent_kbps=1100) for _ in range(3)][-1] == LINK_WEAK  # queueing: the small picture
    judge = LinkJudge()
    assert [judge.add(0.0, 180, sent_kbps=1100) for _ in range(3)][-1] == LINK_POOR  # ~250 kbit/s and less: audio


def test_a_low_estimate_of_little_traffic_is_no_sign() -> None:
    judge = LinkJudge()
    for _ in range(3):
        judge.add(0.0, 180, sent_kbps=1100)
    assert [judge.add(0.0, 60, sent_kbps=45) for _ in range(5)][-1] == LINK_GOOD  # audio only, estimate ~ audio
    assert [judge.add(0.0, 1300, sent_kbps=1100) for _ in range(10)][-1] == LINK_GOOD  # above what comes: fine


def test_a_line_too_slow_for_video_is_retried_ever_more_rarely() -> None:
    """Audio alone is loss-free on a line that video overloads: each early relapse doubles the wait to retry."""
    judge = LinkJudge()
    waits = []
    for _ in range(5):
        while judge.add(0.3) != LINK_POOR:  # on video: heavy loss
            pass
        wait = 0
        while judge.add(0.0) == LINK_POOR:  # audio only: clean
            wait += 1
        waits.append(wait + 1)
    assert waits == [5, 10, 20, 40, 60]


def test_a_long_steady_spell_forgets_the_relapses() -> None:
    judge = LinkJudge()
    for _ in range(2):
        while judge.add(0.3) != LINK_POOR:
            pass
        while judge.add(0.0) == LINK_POOR:
            pass
    for _ in range(200):
        assert judge.add(0.0) == LINK_GOOD
    while judge.add(0.3) != LINK_POOR:
        pass
    assert [judge.add(0.0) for _ in range(5)][-1] == LINK_GOOD  # back to the first wait
