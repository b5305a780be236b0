"""Train the digit classifier the ``digits`` MPQ task ships, and write its weights and model card.

    python -m lcodec.eval.mpq.train_digits          # rewrites digits_logreg.npz and digits_logreg.md

Why logistic regression: the task measures what a codec destroys, not how strong a model can
be; 650 parameters train in a second, deterministically, and run in numpy with no framework.
Features are what the task sees: each digit upscaled to 32x32 uint8 (as it is coded), then
averaged back over 4x4 blocks.
"""
from __future__ import annotations

import hashlib
import platform

import numpy as np

from lcodec.eval.mpq.tasks import DIGITS_SCALE, DIGITS_WEIGHTS, _to_uint8, _upscale, digit_features, digits_split

COMMAND = "python -m lcodec.eval.mpq.train_digits"


def features(images: np.ndarray) -> np.ndarray:
    """float [N, 8, 8] on 0..16 -> float64 [N, 64], through the same uint8 32x32 path as the task."""
    return np.stack([digit_features(_upscale(_to_uint8(image, 16.0), DIGITS_SCALE)) for image in images])


def main() -> None:
    import sklearn
    from sklearn.linear_model import LogisticRegression

    train_x, train_y, test_x, test_y = digits_split()
    model = LogisticRegression(C=1.0, max_iter=5000, tol=1e-6)
    model.fit(features(train_x), train_y)
    weight, bias = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
    np.savez(DIGITS_WEIGHTS, weight=weight, bias=bias)
    logits = features(test_x) @ weight.T.astype(np.float64) + bias
    accuracy = float(np.mean(np.argmax(logits, axis=1) == test_y))
    train_accuracy = float(np.mean(np.argmax(features(train_x) @ weight.T + bias, axis=1) == train_y))
    digest = hashlib.sha256(DIGITS_WEIGHTS.read_bytes()).hexdigest()
    card = f"""# Model card: digits_logreg.npz

- **What**: multinomial logistic regression, `weight` float32 [10, 64], `bias` float32 [10]
  (650 parameters); predicts `argmax(weight @ x + bias)` for features x [64] in [0, 1].
- **Used by**: the `digits` machine-perceptual-quality task (`lcodec bench mpq --task digits`).
- **Data**: scikit-learn {sklearn.__version__} `load_digits` (1797 8x8 digits, UCI optical recognition
  of handwritten digits). Split without shuffling: index % 5 == 0 is test (360), the rest train (1437).
- **Features**: each digit scaled to uint8 (0..16 -> 0..255), upscaled 4x bicubic to 32x32 (what the
  codecs see), averaged back over 4x4 blocks, divided by 255.
- **Training**: `{COMMAND}` — scikit-learn `LogisticRegression(C=1.0, max_iter=5000, tol=1e-6)`, lbfgs,
  deterministic; numpy {np.__version__}, Python {platform.python_version()}.
- **Metrics**: train accuracy {train_accuracy:.4f}; test accuracy {accuracy:.4f} (360 held-out digits,
  uncompressed).
- **sha256** of digits_logreg.npz: `{digest}`
- **License**: the weights are derived from the UCI digits data (CC BY 4.0); same terms as lcodec.
"""
    DIGITS_WEIGHTS.with_suffix(".md").write_text(card, encoding="utf-8")
    print(f"test accuracy {accuracy:.4f}, sha256 {digest}")


if __name__ == "__main__":
    main()
