/** Plain words for the panel (the rules live with the overlay's, in classification/plainWords.ts). */
export { backendName, className, percent } from '../classification/plainWords';
