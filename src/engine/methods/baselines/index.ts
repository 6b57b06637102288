// Registers the gradient-ascent baselines.
import './gradientAscent';
import './gradientDifference';
import './gradientAscentKl';
