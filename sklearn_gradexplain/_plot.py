"""GradientAttributionDisplay: plots of gradient attributions (scikit-learn Display)."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

KINDS = ("bar", "beeswarm", "image", "tokens", "interactions")
#: How ``"bar"`` and ``"beeswarm"`` rank features (see ``plot(rank_by=...)``).
RANKINGS = ("scaled_importance", "importance", "mean")
_GROUP_COLORS = {"positive": "tab:red", "negative": "tab:blue", "neutral": "tab:gray"}


def _import_pyplot(caller):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is an extra
        raise ImportError(
            f"{caller} requires matplotlib. Install it with "
            "`pip install sklearn-gradexplain[plot]`."
        ) from exc
    return plt


def _token_means(scores, ids, n_tokens):
    """Mean score of every token id over its occurrences, and its count."""
    ids = np.asarray(ids).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    counts = np.bincount(ids, minlength=n_tokens).astype(np.float64)
    sums = np.bincount(ids, weights=scores, minlength=n_tokens)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means, counts


def _feature_scale(data, n_features):
    """Standard deviation (ddof=0, NaN cells left out) of each column of ``data``,
    or ``None`` when there is no data of that width to take it from."""
    if data is None:
        return None
    try:
        values = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if values.ndim != 2 or values.shape[1] != n_features or values.shape[0] == 0:
        return None
    with np.errstate(invalid="ignore"):
        scale = np.nanstd(values, axis=0)
    return np.where(np.isfinite(scale), scale, 0.0)


def _feature_ranking(values, scale, rank_by):
    """Features of one panel's attributions, most important first.

    ``"scaled_importance"``: mean |attribution| × the feature's standard deviation
    (``scale``; without one every scale is 1, i.e. the importance);
    ``"importance"``: mean |attribution|; ``"mean"``: |mean attribution|. Ties keep
    the column order.
    """
    if rank_by == "mean":
        key = np.abs(values.mean(axis=0))
    else:
        key = np.abs(values).mean(axis=0)
        if rank_by == "scaled_importance" and scale is not None:
            key = key * scale
    return np.argsort(-key, kind="stable")


def _check_ranking(rank_by, confidence_level):
    if rank_by not in RANKINGS:
        raise ValueError(f"rank_by must be one of {RANKINGS}; got {rank_by!r}.")
    if confidence_level is not None and not 0 < confidence_level < 1:
        raise ValueError(
            f"confidence_level must be in (0, 1) or None; got {confidence_level!r}."
        )


def _swarm_offsets(values, width=0.4, n_bins=50):
    """Vertical offsets spreading points like a violin: the spread at a value grows
    with the square root of how many points have a similar value (deterministic)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2 or np.ptp(values) == 0:
        spread = np.ones(len(values))
    else:
        edges = np.linspace(values.min(), values.max(), n_bins + 1)
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)
        counts = np.bincount(bins, minlength=n_bins)
        spread = np.sqrt(counts[bins] / counts.max())
    jitter = np.random.RandomState(0).uniform(-1, 1, size=len(values))
    return width * spread * jitter


class GradientAttributionDisplay:
    """Gradient attributions visualization.

    Follows scikit-learn's Display pattern: build it with :meth:`from_estimator` (a
    fitted explainer and data) or :meth:`from_attributions` (attributions computed
    beforehand), or create it directly and call :meth:`plot`. All parameters are stored
    as attributes.

    Parameters
    ----------
    attributions : ndarray of shape (n_samples, n_features) or \
(n_samples, n_outputs, n_features)
        Per-sample attributions, as returned by ``explain``. For ``kind="tokens"``,
        per-token scores of shape (n_samples, sequence_length) (e.g.
        :meth:`TokenGradientExplainer.explain`). A single summary vector, such as a
        linear model's ``coef_``, can be shown by adding a sample axis
        (``coef_[None]``). For ``kind="interactions"``, per-sample matrices of shape
        (n_samples, n_features, n_features) or (n_samples, n_outputs, n_features,
        n_features) (:meth:`HessianExplainer.explain`), or one matrix of shape
        (n_features, n_features) (e.g. ``interaction_importances_``).
    kind : {"bar", "beeswarm", "image", "tokens", "interactions"}, default="bar"
        - ``"bar"``: the mean (signed) attribution (the global gradient) of the
          ``max_features`` most important features, with the normal confidence
          interval of each mean (sample std, ddof=1, / √n: the interval of
          :meth:`GradientExplainer.summary`), one panel per output;
        - ``"beeswarm"``: every sample's attribution for the most important
          features, colored by feature value when ``data`` is given;
        - ``"image"``: the mean attribution reshaped to ``image_shape`` (e.g. (8, 8)
          for digits), one panel per output, on a diverging color scale centered at 0;
        - ``"tokens"``: the tokens with the highest mean score over their occurrences,
          ``data`` holding the token ids and ``feature_names`` the vocabulary;
        - ``"interactions"``: a heat map of the mean matrix (e.g. the mean Hessian)
          over the ``max_features`` features with the largest rows, one panel per
          output, on a diverging color scale centered at 0 with a labelled colorbar.

        ``"bar"`` and ``"beeswarm"`` rank features by scaled importance (mean
        absolute attribution × the feature's standard deviation in ``data``) unless
        ``plot(rank_by=...)`` says otherwise.
    feature_names : array-like of str, default=None
        Feature names (for ``kind="tokens"``, token id -> token). ``None`` uses
        ``x0, x1, ...``.
    output_names : list, default=None
        Names of the outputs (e.g. class labels), one per output.
    data : ndarray of shape (n_samples, n_features) or (n_samples, sequence_length), \
default=None
        Feature values (``"beeswarm"`` colors) or token ids (``"tokens"``, required).
    image_shape : tuple of int, default=None
        Shape of one image, required by ``kind="image"``.
    padding_idx : int or None, default=0
        Token id left out of the ``"tokens"`` ranking (padding).

    Attributes
    ----------
    ax_ : matplotlib Axes or ndarray of Axes
        The axes of the plot: a single ``Axes`` when there is one panel, else the
        array of axes (one per output).
    axes_ : ndarray of matplotlib Axes
        The axes as an array, always (one per panel).
    figure_ : matplotlib Figure
        Figure containing the plot.
    artists_ : list
        The main artist of each panel (bar containers, scatter collections or images).
    summary_ : list of ndarray
        What each panel shows: the mean attribution per feature (``"bar"``,
        ``"image"``, ``"beeswarm"``), the mean score per token id (``"tokens"``) or
        the mean matrix over the features shown (``"interactions"``).

    See Also
    --------
    GradientExplainer : Computes the attributions.
    TokenGradientExplainer : Token scores of sequence models.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_gradexplain import GradientAttributionDisplay, GradientExplainer
    >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    >>> explainer = GradientExplainer(LogisticRegression()).fit(X, y)
    >>> display = GradientAttributionDisplay.from_estimator(explainer, X, kind="bar")
    >>> len(display.ax_.patches)
    4
    """

    def __init__(
        self,
        attributions,
        *,
        kind="bar",
        feature_names=None,
        output_names=None,
        data=None,
        image_shape=None,
        padding_idx=0,
    ):
        self.attributions = attributions
        self.kind = kind
        self.feature_names = feature_names
        self.output_names = output_names
        self.data = data
        self.image_shape = image_shape
        self.padding_idx = padding_idx

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_estimator(
        cls,
        explainer,
        X,
        *,
        kind="bar",
        feature_names=None,
        image_shape=None,
        vocabulary=None,
        padding_idx=0,
        ax=None,
        **plot_kwargs,
    ):
        """Explain ``X`` with a fitted explainer and plot the attributions.

        Parameters
        ----------
        explainer : fitted explainer
            A fitted :class:`GradientExplainer`, surrogate, selector or
            :class:`TokenGradientExplainer` (anything with ``explain``); a
            :class:`HessianExplainer` for ``kind="interactions"``.
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Data to explain (token ids for ``kind="tokens"``).
        kind : {"bar", "beeswarm", "image", "tokens", "interactions"}, \
default="bar"
            See :class:`GradientAttributionDisplay`.
        feature_names : array-like of str, default=None
            Names of the explained features; defaults to the explainer's
            ``feature_names_in_`` (DataFrame input) or ``x0, x1, ...``.
        image_shape : tuple of int, default=None
            Shape of one image (``kind="image"``).
        vocabulary : list or dict, default=None
            Token id -> token (``kind="tokens"``); defaults to the ids themselves.
        padding_idx : int or None, default=0
            Token id left out of the ``"tokens"`` ranking.
        ax : matplotlib Axes or array of Axes, default=None
            Where to plot (one Axes per panel); ``None`` creates a figure.
        **plot_kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : GradientAttributionDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn_gradexplain import GradientAttributionDisplay
        >>> from sklearn_gradexplain import GradientExplainer
        >>> X, y = load_iris(return_X_y=True)
        >>> explainer = GradientExplainer(LogisticRegression(max_iter=500)).fit(X, y)
        >>> display = GradientAttributionDisplay.from_estimator(
        ...     explainer, X, kind="beeswarm"
        ... )
        >>> display.axes_.shape  # one panel per class
        (3,)
        """
        _import_pyplot(f"{cls.__name__}.from_estimator")
        cls._check_kind(kind)
        check_is_fitted(explainer)
        if kind == "interactions" and not hasattr(explainer, "mean_hessian_"):
            raise ValueError(
                'kind="interactions" shows Hessians: pass a fitted HessianExplainer; '
                f"got {type(explainer).__name__}."
            )
        attributions = explainer.explain(X)
        output_names = None
        outputs = getattr(explainer, "outputs_", None)
        if outputs is not None and getattr(outputs, "names", None) is not None:
            output_names = list(outputs.names)
        if kind == "interactions":
            if feature_names is None:
                names = getattr(explainer, "feature_names_in_", None)
                if names is not None:
                    indices = explainer.feature_indices_
                    feature_names = np.asarray(names, dtype=object)[indices]
            display = cls(
                attributions,
                kind=kind,
                feature_names=feature_names,
                output_names=output_names,
            )
            display._value_label = (
                "mean integrated Hessian"
                if getattr(explainer, "kind", None) == "integrated_hessians"
                else "mean Hessian ∂²f/∂xᵢ∂xⱼ"
            )
            return display.plot(ax=ax, **plot_kwargs)
        if kind == "tokens":
            if vocabulary is not None:
                feature_names = vocabulary
            data = np.asarray(X)
        else:
            if feature_names is None:
                names = getattr(explainer, "feature_names_in_", None)
                indices = getattr(explainer, "feature_indices_", None)
                if names is not None:
                    names = np.asarray(names, dtype=object)
                    feature_names = names if indices is None else names[indices]
            data = X
            indices = getattr(explainer, "feature_indices_", None)
            if indices is not None:
                data = (
                    X.iloc[:, indices]
                    if hasattr(X, "iloc")
                    else np.asarray(X)[:, indices]
                )
        return cls.from_attributions(
            attributions,
            kind=kind,
            feature_names=feature_names,
            output_names=output_names,
            data=data,
            image_shape=image_shape,
            padding_idx=padding_idx,
            ax=ax,
            **plot_kwargs,
        )

    @classmethod
    def from_attributions(
        cls,
        attributions,
        *,
        kind="bar",
        feature_names=None,
        output_names=None,
        data=None,
        image_shape=None,
        padding_idx=0,
        ax=None,
        **plot_kwargs,
    ):
        """Plot attributions computed beforehand.

        Parameters
        ----------
        attributions : ndarray of shape (n_samples, n_features) or \
(n_samples, n_outputs, n_features)
            Per-sample attributions (token scores for ``kind="tokens"``).
        kind : {"bar", "beeswarm", "image", "tokens", "interactions"}, \
default="bar"
            See :class:`GradientAttributionDisplay`.
        feature_names : array-like of str, default=None
            Feature names, or token id -> token for ``kind="tokens"``.
        output_names : list, default=None
            One name per output.
        data : ndarray, default=None
            Feature values (``"beeswarm"``) or token ids (``"tokens"``).
        image_shape : tuple of int, default=None
            Shape of one image (``kind="image"``).
        padding_idx : int or None, default=0
            Token id left out of the ``"tokens"`` ranking.
        ax : matplotlib Axes or array of Axes, default=None
            Where to plot; ``None`` creates a figure.
        **plot_kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : GradientAttributionDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sklearn_gradexplain import GradientAttributionDisplay
        >>> coef = np.arange(16.0).reshape(1, 16) - 8  # e.g. a linear model's coef_
        >>> display = GradientAttributionDisplay.from_attributions(
        ...     coef[None], kind="image", image_shape=(4, 4)
        ... )
        >>> display.artists_[0].get_array().shape
        (4, 4)
        """
        _import_pyplot(f"{cls.__name__}.from_attributions")
        cls._check_kind(kind)
        display = cls(
            attributions,
            kind=kind,
            feature_names=feature_names,
            output_names=output_names,
            data=data,
            image_shape=image_shape,
            padding_idx=padding_idx,
        )
        return display.plot(ax=ax, **plot_kwargs)

    @staticmethod
    def _check_kind(kind):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")

    # ------------------------------------------------------------------ plotting
    def _panels(self):
        """Attributions as (n_samples, n_panels, n_features) and the panel titles."""
        A = np.asarray(self.attributions, dtype=np.float64)
        if A.ndim == 1:
            A = A[None, :]
        if A.ndim == 2:
            A = A[:, None, :]
        if A.ndim != 3:
            raise ValueError(
                "attributions must have shape (n_samples, n_features) or "
                "(n_samples, n_outputs, n_features); got "
                f"{np.shape(self.attributions)}."
            )
        if A.shape[0] == 0:
            raise ValueError("attributions are empty (0 samples).")
        n_panels = A.shape[1]
        names = self.output_names
        if names is None:
            titles = (
                [None] if n_panels == 1 else [f"output {k}" for k in range(n_panels)]
            )
        else:
            names = list(names)
            if len(names) != n_panels:
                raise ValueError(
                    f"output_names has {len(names)} names for {n_panels} outputs."
                )
            titles = [str(name) for name in names]
        return A, titles

    def _feature_names(self, n_features):
        if self.feature_names is None:
            return np.asarray([f"x{j}" for j in range(n_features)], dtype=object)
        if isinstance(self.feature_names, dict):
            return np.asarray(
                [self.feature_names.get(j, str(j)) for j in range(n_features)],
                dtype=object,
            )
        names = np.asarray(self.feature_names, dtype=object)
        if len(names) != n_features:
            raise ValueError(
                f"feature_names has {len(names)} names for {n_features} features."
            )
        return names

    def _axes(self, ax, n_panels, n_cols, panel_size):
        plt = _import_pyplot(f"{type(self).__name__}.plot")
        if ax is None:
            n_cols = min(n_cols, n_panels)
            n_rows = int(np.ceil(n_panels / n_cols))
            figure, axes = plt.subplots(
                n_rows,
                n_cols,
                figsize=(panel_size[0] * n_cols, panel_size[1] * n_rows),
                squeeze=False,
                constrained_layout=True,
            )
            axes = axes.ravel()
            for extra in axes[n_panels:]:
                extra.set_visible(False)
            return figure, axes[:n_panels]
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.size < n_panels:
            raise ValueError(
                f"ax has {axes.size} Axes but {n_panels} panels are plotted; pass an "
                f"array of {n_panels} Axes or ax=None."
            )
        return axes[0].figure, axes[:n_panels]

    def plot(
        self,
        ax=None,
        *,
        max_features=20,
        groups=None,
        n_cols=5,
        cmap=None,
        colorbar=None,
        title=None,
        rank_by="scaled_importance",
        confidence_level=0.95,
    ):
        """Plot the attributions.

        Parameters
        ----------
        ax : matplotlib Axes or array of Axes, default=None
            One Axes per panel (one panel per output; ``"tokens"`` has one). ``None``
            creates a figure with a grid of ``n_cols`` columns.
        max_features : int, default=20
            Features (or tokens) shown by ``"bar"``, ``"beeswarm"``, ``"tokens"`` and
            ``"interactions"``.
        groups : dict, default=None
            Feature (or token) name -> group label; bars are colored by group, with a
            legend (e.g. the planted polarity of words). ``None`` colors ``"bar"`` by
            sign.
        n_cols : int, default=5
            Columns of the grid created when ``ax=None``.
        cmap : str or Colormap, default=None
            Colormap of ``"image"`` (default ``"RdBu_r"``) and ``"beeswarm"``
            (default ``"coolwarm"``).
        colorbar : bool, default=None
            Draw a colorbar; default: for ``"beeswarm"`` with ``data``,
            single-panel ``"image"`` and ``"interactions"``.
        title : str or list of str, default=None
            Panel titles; default: the output names.
        rank_by : {"scaled_importance", "importance", "mean"}, \
default="scaled_importance"
            How ``"bar"`` and ``"beeswarm"`` pick and order the features:
            ``"scaled_importance"``, mean absolute attribution × the feature's
            standard deviation in ``data`` (the output change per standard deviation;
            without ``data``, every scale is 1); ``"importance"``, mean absolute
            attribution; ``"mean"``, absolute mean attribution.
        confidence_level : float or None, default=0.95
            Coverage of the error bars of ``"bar"``: the normal confidence interval
            of each mean over the samples (the sampling of rows, the model held
            fixed); ``None`` draws none.

        Returns
        -------
        display : GradientAttributionDisplay
            Object that stores computed values.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sklearn_gradexplain import GradientAttributionDisplay
        >>> attributions = np.array([[0.5, -2.0, 0.1], [1.5, -1.0, 0.1]])
        >>> display = GradientAttributionDisplay(attributions, kind="bar")
        >>> display = display.plot(max_features=2)
        >>> [label.get_text() for label in display.ax_.get_yticklabels()]
        ['x1', 'x0']
        """
        self._check_kind(self.kind)
        _check_ranking(rank_by, confidence_level)
        if self.kind == "tokens":
            panels = self._token_panel()
        elif self.kind == "interactions":
            panels = self._interaction_panels()
        else:
            A, titles = self._panels()
            panels = [(A[:, k, :], titles[k]) for k in range(A.shape[1])]
        if title is not None:
            titles = [title] if isinstance(title, str) else list(title)
            if len(titles) != len(panels):
                raise ValueError(f"title needs {len(panels)} entries.")
            panels = [(p[0], t) for p, t in zip(panels, titles, strict=True)]
        size = {
            "bar": (4.8, 0.25 * min(max_features, self._n_columns()) + 1.2),
            "beeswarm": (5.5, 0.3 * min(max_features, self._n_columns()) + 1.2),
            "image": (2.2, 2.4),
            "tokens": (4.8, 0.25 * max_features + 1.2),
            "interactions": (
                0.3 * min(max_features, self._n_columns()) + 2.6,
                0.3 * min(max_features, self._n_columns()) + 1.4,
            ),
        }[self.kind]
        figure, axes = self._axes(ax, len(panels), n_cols, size)
        draw = getattr(self, f"_plot_{self.kind}")
        options = {}  # what only some kinds take
        if self.kind in ("bar", "beeswarm"):
            options["rank_by"] = rank_by
        if self.kind == "bar":
            options["confidence_level"] = confidence_level
        self.artists_ = []
        self.summary_ = []
        for axis, (values, panel_title) in zip(axes, panels, strict=True):
            artist, summary = draw(
                axis,
                values,
                max_features=max_features,
                groups=groups,
                cmap=cmap,
                colorbar=colorbar,
                **options,
            )
            if panel_title is not None:
                axis.set_title(panel_title)
            self.artists_.append(artist)
            self.summary_.append(summary)
        self.axes_ = axes
        self.ax_ = axes[0] if len(axes) == 1 else axes
        self.figure_ = figure
        return self

    def _n_columns(self):
        shape = np.shape(self.attributions)
        return shape[-1] if len(shape) else 1

    def _token_panel(self):
        scores = np.asarray(self.attributions, dtype=np.float64)
        if self.data is None:
            raise ValueError('kind="tokens" needs the token ids in data.')
        ids = np.asarray(self.data)
        if ids.shape != scores.shape:
            raise ValueError(
                f"token ids {ids.shape} and token scores {scores.shape} differ in "
                "shape."
            )
        if ids.dtype.kind not in "iu":
            raise ValueError('kind="tokens" needs integer token ids in data.')
        return [(np.stack([scores, ids]), None)]

    def _color_groups(self, names, groups, values):
        """Bar colors, and legend handles when ``groups`` is given."""
        from matplotlib.patches import Patch

        if groups is None:
            colors = np.where(values >= 0, "tab:red", "tab:blue")
            return list(colors), None
        labels = [groups.get(name, "other") for name in names]
        unique = sorted(set(labels), key=str)
        palette = {label: f"C{i}" for i, label in enumerate(unique)}
        palette.update({k: v for k, v in _GROUP_COLORS.items() if k in palette})
        handles = [Patch(color=palette[label], label=label) for label in unique]
        return [palette[label] for label in labels], handles

    def _plot_bar(
        self,
        ax,
        values,
        *,
        max_features,
        groups,
        cmap,
        colorbar,
        rank_by="scaled_importance",
        confidence_level=0.95,
    ):
        n_samples, n_features = values.shape
        names = self._feature_names(n_features)
        mean = values.mean(axis=0)
        scale = _feature_scale(self.data, n_features)
        order = _feature_ranking(values, scale, rank_by)[:max_features]
        colors, handles = self._color_groups(names[order], groups, mean[order])
        y = np.arange(len(order))[::-1]
        error = None
        if confidence_level is not None and n_samples > 1:
            from scipy.stats import norm

            # the normal interval of summary(): std (ddof=1) / sqrt(n) of the mean
            stderr = values.std(axis=0, ddof=1) / np.sqrt(n_samples)
            error = norm.ppf(0.5 + confidence_level / 2) * stderr[order]
        bars = ax.barh(
            y,
            mean[order],
            color=colors,
            xerr=error,
            error_kw={"ecolor": "black", "capsize": 2, "linewidth": 0.8},
        )
        ax.set_yticks(y, [str(n) for n in names[order]])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(
            "mean attribution"
            if error is None
            else f"mean attribution ({confidence_level:.0%} CI)"
        )
        if handles:
            ax.legend(handles=handles, loc="best", fontsize="small")
        return bars, mean

    def _plot_beeswarm(
        self,
        ax,
        values,
        *,
        max_features,
        groups,
        cmap,
        colorbar,
        rank_by="scaled_importance",
    ):
        names = self._feature_names(values.shape[1])
        scale = _feature_scale(self.data, values.shape[1])
        order = _feature_ranking(values, scale, rank_by)[:max_features]
        n_samples = values.shape[0]
        data = None if self.data is None else np.asarray(self.data, dtype=np.float64)
        if data is not None and data.shape != values.shape:
            raise ValueError(
                f"data {data.shape} and attributions {values.shape} differ in shape."
            )
        xs, ys, cs = [], [], []
        for position, j in enumerate(order):
            row = len(order) - 1 - position
            xs.append(values[:, j])
            ys.append(row + _swarm_offsets(values[:, j]))
            if data is not None:
                column = data[:, j]
                low, high = np.nanpercentile(column, [5, 95])
                span = high - low if high > low else 1.0
                cs.append(np.clip((column - low) / span, 0, 1))
        x, y = np.concatenate(xs), np.concatenate(ys)
        if data is not None:
            scatter = ax.scatter(
                x, y, c=np.concatenate(cs), cmap=cmap or "coolwarm", s=8, vmin=0, vmax=1
            )
            if colorbar is None or colorbar:
                bar = ax.figure.colorbar(scatter, ax=ax, ticks=[0, 1], aspect=30)
                bar.ax.set_yticklabels(["low", "high"])
                bar.set_label("feature value")
        else:
            scatter = ax.scatter(x, y, s=8, color="tab:purple")
        rows = np.arange(len(order))[::-1]
        ax.set_yticks(rows, [str(n) for n in names[order]])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"attribution ({n_samples} samples)")
        return scatter, values.mean(axis=0)

    def _plot_image(self, ax, values, *, max_features, groups, cmap, colorbar):
        if self.image_shape is None:
            raise ValueError('kind="image" needs image_shape, e.g. (8, 8).')
        mean = values.mean(axis=0)
        if int(np.prod(self.image_shape)) != mean.size:
            raise ValueError(
                f"image_shape {tuple(self.image_shape)} does not hold {mean.size} "
                "features."
            )
        image = mean.reshape(self.image_shape)
        limit = np.abs(image).max() or 1.0
        artist = ax.imshow(
            image,
            cmap=cmap or "RdBu_r",
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        if colorbar or (colorbar is None and np.ndim(self.attributions) == 2):
            ax.figure.colorbar(artist, ax=ax, shrink=0.8)
        return artist, mean

    def _plot_tokens(self, ax, values, *, max_features, groups, cmap, colorbar):
        scores, ids = values[0], values[1].astype(np.int64)
        n_tokens = int(ids.max()) + 1 if ids.size else 1
        if self.feature_names is not None and not isinstance(self.feature_names, dict):
            n_tokens = max(n_tokens, len(self.feature_names))
        means, _ = _token_means(scores, ids, n_tokens)
        ranked = means.copy()
        if self.padding_idx is not None and 0 <= self.padding_idx < n_tokens:
            ranked[self.padding_idx] = np.nan
        candidates = np.flatnonzero(~np.isnan(ranked))
        order = candidates[np.argsort(-ranked[candidates], kind="stable")][
            :max_features
        ]
        if self.feature_names is None:
            names = np.asarray([str(i) for i in range(n_tokens)], dtype=object)
        else:
            names = self._feature_names(n_tokens)
        if groups is None:
            colors, handles = ["tab:purple"] * len(order), None
        else:
            colors, handles = self._color_groups(names[order], groups, means[order])
        y = np.arange(len(order))[::-1]
        bars = ax.barh(y, means[order], color=colors)
        ax.set_yticks(y, [str(n) for n in names[order]])
        ax.set_xlabel("mean token score over occurrences")
        if handles:
            ax.legend(handles=handles, loc="lower right", fontsize="small")
        return bars, means

    # ------------------------------------------------------------------ interactions
    def _interaction_panels(self):
        """The mean matrix of each output, (d, d), and the panel titles."""
        M = np.asarray(self.attributions, dtype=np.float64)
        if M.ndim == 2:
            M = M[None]
        if M.ndim == 3:
            M = M[:, None]
        if M.ndim != 4 or M.shape[-1] != M.shape[-2]:
            raise ValueError(
                'kind="interactions" needs square matrices: (n_features, n_features), '
                "(n_samples, n_features, n_features) or (n_samples, n_outputs, "
                f"n_features, n_features); got {np.shape(self.attributions)}."
            )
        if M.shape[0] == 0:
            raise ValueError("attributions are empty (0 samples).")
        mean = M.mean(axis=0)
        n_panels = mean.shape[0]
        if self.output_names is None:
            titles = (
                [None] if n_panels == 1 else [f"output {k}" for k in range(n_panels)]
            )
        else:
            titles = [str(name) for name in self.output_names]
            if len(titles) != n_panels:
                raise ValueError(
                    f"output_names has {len(titles)} names for {n_panels} outputs."
                )
        return list(zip(mean, titles, strict=True))

    def _plot_interactions(self, ax, values, *, max_features, groups, cmap, colorbar):
        names = self._feature_names(values.shape[0])
        strength = np.abs(values).sum(axis=1)
        order = np.sort(np.argsort(-strength, kind="stable")[:max_features])
        shown = values[np.ix_(order, order)]
        limit = np.abs(shown).max() or 1.0
        artist = ax.imshow(
            shown,
            cmap=cmap or "RdBu_r",
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
        )
        labels = [str(name) for name in names[order]]
        positions = np.arange(len(order))
        ax.set_xticks(positions, labels, rotation=90)
        ax.set_yticks(positions, labels)
        if colorbar is None or colorbar:
            bar = ax.figure.colorbar(artist, ax=ax, shrink=0.8)
            bar.set_label(getattr(self, "_value_label", "mean interaction"))
        return artist, shown
