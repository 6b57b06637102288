import type { Catalog } from './catalog';
declare const catalog: Catalog;
export default catalog;
