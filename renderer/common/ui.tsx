/** The few widgets every screen shares: buttons, cards, progress bars, notices. */
import type { ComponentPropsWithRef, ReactNode } from 'react';
import { friendlyError } from './errors.js';

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';

const VARIANTS: Record<Variant, string> = {
  primary: 'bg-blue-600 text-white hover:bg-blue-500 disabled:bg-zinc-200 disabled:text-zinc-400 dark:disabled:bg-zinc-800 dark:disabled:text-zinc-500',
  secondary:
    'border border-zinc-300 bg-white text-zinc-800 hover:bg-zinc-50 disabled:text-zinc-400 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 dark:hover:bg-zinc-800 dark:disabled:text-zinc-600',
  danger: 'border border-red-300 bg-white text-red-700 hover:bg-red-50 disabled:opacity-40 dark:border-red-900 dark:bg-zinc-900 dark:text-red-400 dark:hover:bg-red-950',
  ghost: 'text-zinc-700 hover:bg-zinc-100 disabled:opacity-40 dark:text-zinc-300 dark:hover:bg-zinc-800',
};

export const focusRing = 'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-500';

export function Button({ variant = 'secondary', className = '', type = 'button', ...props }: ComponentPropsWithRef<'button'> & { variant?: Variant }) {
  return (
    <button
      type={type}
      className={`inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium transition-colors disabled:cursor-not-allowed ${focusRing} ${VARIANTS[variant]} ${className}`}
      {...props}
    />
  );
}

export function Card({ children, className = '', ...rest }: { children: ReactNode; className?: string } & Record<`data-${string}`, string | undefined>) {
  return (
    <section className={`rounded-lg border border-zinc-200 bg-white p-4 shadow-xs dark:border-zinc-800 dark:bg-zinc-900 ${className}`} {...rest}>
      {children}
    </section>
  );
}

const BAR_COLORS = ['bg-blue-500', 'bg-emerald-500', 'bg-amber-500', 'bg-fuchsia-500', 'bg-cyan-500', 'bg-rose-500'];
export const LANE_STROKES = ['#3b82f6', '#10b981', '#f59e0b', '#d946ef', '#06b6d4', '#f43f5e'];

export function laneColorClass(index: number): string {
  return BAR_COLORS[index % BAR_COLORS.length] ?? 'bg-blue-500';
}

export function ProgressBar({ value, label, colorClass = 'bg-blue-500', failed = 0 }: { value: number; label: string; colorClass?: string; failed?: number }) {
  const percent = Math.round(Math.min(1, Math.max(0, value)) * 1000) / 10;
  const failedPercent = Math.round(Math.min(1 - value, Math.max(0, failed)) * 1000) / 10;
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      className="relative h-2 w-full overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
    >
      {/* scaleX, not width: the compositor animates it without layout or paint at 10 updates/s. */}
      <div className={`absolute inset-0 origin-left ${colorClass} transition-transform duration-300`} style={{ transform: `scaleX(${percent / 100})` }} />
      {failedPercent > 0 && (
        <div className="absolute inset-0 origin-left bg-red-500 transition-transform duration-300" style={{ transform: `translateX(${percent}%) scaleX(${failedPercent / 100})` }} />
      )}
    </div>
  );
}

export function ErrorNotice({ error, action, onDismiss }: { error: unknown; action?: string; onDismiss?: () => void }) {
  const { message, detail } = friendlyError(error, action);
  return (
    <div role="alert" className="flex items-start gap-3 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950/60 dark:text-red-200">
      <div className="flex-1">
        <p>{message}</p>
        {detail && detail !== message && (
          <details className="mt-1 text-xs opacity-80">
            <summary className={`cursor-pointer ${focusRing}`}>Details</summary>
            <code className="break-all">{detail}</code>
          </details>
        )}
      </div>
      {onDismiss && (
        <Button variant="ghost" className="-my-1 px-2" onClick={onDismiss} aria-label="Dismiss">
          ✕
        </Button>
      )}
    </div>
  );
}

export function InfoNotice({ message, onDismiss }: { message: string; onDismiss?: () => void }) {
  return (
    <div role="status" className="flex items-start gap-3 rounded-md border border-blue-200 bg-blue-50 px-3 py-2 text-sm text-blue-900 dark:border-blue-900 dark:bg-blue-950/50 dark:text-blue-100">
      <p className="flex-1">{message}</p>
      {onDismiss && (
        <Button variant="ghost" className="-my-1 px-2" onClick={onDismiss} aria-label="Dismiss">
          ✕
        </Button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center gap-2 rounded-lg border border-dashed border-zinc-300 px-6 py-10 text-center text-sm text-zinc-500 dark:border-zinc-700 dark:text-zinc-400">
      <p className="font-medium text-zinc-700 dark:text-zinc-300">{title}</p>
      {children}
    </div>
  );
}

export function Loading({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="flex items-center gap-2 text-sm text-zinc-500 dark:text-zinc-400">
      <span className="size-3 animate-spin rounded-full border-2 border-zinc-300 border-t-blue-500" aria-hidden />
      {children}
    </p>
  );
}

export function Stat({ label, value, title }: { label: string; value: ReactNode; title?: string }) {
  return (
    <div title={title}>
      <dt className="text-xs text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="font-medium tabular-nums">{value}</dd>
    </div>
  );
}
