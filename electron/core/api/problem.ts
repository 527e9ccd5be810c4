/** A refusal of the local API: HTTP status, a stable code, and a message naming the problem (and the fields). */
import type { RejectedRow } from '../../../shared/domain.js';
import type { ApiErrorBody } from './schemas.js';

export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  constructor(
    readonly status: number,
    readonly code: ApiErrorBody['error']['code'],
    message: string,
    readonly issues?: string[],
    readonly rejected?: RejectedRow[],
  ) {
    super(message);
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}), ...(this.rejected ? { rejected: this.rejected } : {}) } };
  }
}
