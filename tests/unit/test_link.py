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
