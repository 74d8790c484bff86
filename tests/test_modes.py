import pytest

from seqsi.nn import MODE_NAMES, get_mode
from seqsi.properties import AFFINE_EQUIVARIANT, INVARIANT, SCALE_EQUIVARIANT, SEQSI, SIGN_SEQSI


@pytest.mark.parametrize("alias,family,reparam", [
    ("ordinary", "standard", "avg"), ("se", "seq", "avg"), ("scale-equiv", "seq", "avg"),
    ("norm-equiv", "affeq", "avg"), ("affeq_avg", "affeq", "avg"), ("affeq_telescopic", "affeq", "telescopic"),
    ("seqsi_avg", "seqsi", "avg"), ("SEqSI_Telescopic", "seqsi", "telescopic"), ("z-score", "zscore", "avg"),
    ("seqsi_sym_telescopic", "seqsi_sym", "telescopic"),
])
def test_paper_names_are_aliases(alias, family, reparam):
    mode = get_mode(alias)
    assert (mode.family, mode.reparam) == (family, reparam)
    assert get_mode(mode.name) == mode  # the canonical name parses back to the same mode


def test_each_mode_promises_its_property():
    promised = {m: get_mode(m).property for m in MODE_NAMES}
    assert promised == {"standard": None, "seq": SCALE_EQUIVARIANT, "affeq": AFFINE_EQUIVARIANT, "seqsi": SEQSI,
                        "zscore": INVARIANT, "seqsi_sym": SIGN_SEQSI}


def test_unknown_mode_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        get_mode("equivariant-ish")
    for name in MODE_NAMES:
        assert name in str(err.value)
    assert "ordinary" in str(err.value)


def test_reparam_only_for_constrained_modes():
    with pytest.raises(ValueError, match="no constrained kernels"):
        get_mode("standard_telescopic")
    with pytest.raises(ValueError, match="reparam must be one of"):
        get_mode("seqsi", reparam="cubic")
    assert get_mode("seqsi", reparam="telescopic").name == "seqsi_telescopic"


def test_mode_labels_key_the_canonical_names():
    from seqsi.nn import mode_labels

    assert mode_labels(["ordinary", "seqsi_avg", "affeq_telescopic"]) == {
        "standard": "Standard", "seqsi": "SEqSI", "affeq_telescopic": "AffEq (telescopic)"}
