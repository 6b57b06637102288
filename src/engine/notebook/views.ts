// The view builders the step executors use: E2's builders in src/engine/report/ (one import site, so the executors
// do not depend on the report's file layout).
export { comparisonView, curvesView, heatmapPairView, heatmapView, masksView, metricsView } from '../report/index';
