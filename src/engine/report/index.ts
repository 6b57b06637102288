// The view builders (engine results → notebook output items with a markdown fallback) and the HTML report.
export { heatmapView, heatmapPairView, heatmapCellCounts, tokenDisplay, HEATMAP_VIEW_ROWS } from './heatmapView';
export { curvesView, type CurveInput } from './curvesView';
export { comparisonView } from './comparisonView';
export { masksView, maskBlockGrid, neuronStrip, type MasksViewInput } from './masksView';
export { metricsView } from './metricsView';
export { renderHtmlReport, type ReportCell, type ReportDoc } from './htmlReport';
export { renderViewSvg } from './svg';
