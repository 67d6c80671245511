import { Duration } from 'aws-cdk-lib';

/** Options of a drift check. */
export interface DriftCheckOptions {
  /**
   * How often the settings are compared with the template. One schedule
   * checks every template of the stack: it runs at the shortest interval any
   * construct of the stack asks for. Whole minutes, from 1 minute to 12
   * hours; an interval shorter than one check of the stack's templates takes
   * (about 100 s for 250 templates at IoT's default rate) runs checks side by side.
   *
   * @default Duration.hours(1)
   */
  readonly interval?: Duration;
}

/**
 * A scheduled comparison of what the template has with the settings this
 * construct last applied, which sees changes made outside the stack (in the
 * console, by a script). Each difference is logged, naming the setting, the
 * applied value and the live value, and counted in the template's
 * `metricDrift()`.
 */
export class DriftCheck {
  /** Log and count each difference; change nothing. */
  public static report(options: DriftCheckOptions = {}): DriftCheck {
    return new DriftCheck('report', options);
  }

  /**
   * Log and count each difference, then write the applied settings back,
   * while the stack is not being deployed. An emergency change made in the
   * console (a template disabled during an incident) is undone at the next
   * check: change the stack instead, or use `report()`.
   */
  public static restore(options: DriftCheckOptions = {}): DriftCheck {
    return new DriftCheck('restore', options);
  }

  /** `report` or `restore`. */
  public readonly mode: string;

  /** How often the check runs. */
  public readonly interval: Duration;

  private constructor(mode: string, options: DriftCheckOptions) {
    this.mode = mode;
    this.interval = options.interval ?? Duration.hours(1);
  }
}
