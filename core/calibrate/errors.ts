/** A measurement file `npm run calibrate` cannot use: which file, what is wrong, what was expected. */
export class CalibrationError extends Error {
  constructor(readonly file: string, readonly problem: string, readonly expected: string) {
    super(`${file}: ${problem} (expected: ${expected})`);
    this.name = "CalibrationError";
  }
}
