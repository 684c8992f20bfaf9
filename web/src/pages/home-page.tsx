import { useApi } from '../api/api-context.tsx';
import { useAuth } from '../auth/auth-context.tsx';
import { useConfig } from '../config-context.ts';
import { Link } from '../router.tsx';
import { FeedRow } from '../ui/feed-row.tsx';
import { Page } from '../ui/page.tsx';
import { useUploads } from '../upload/uploads-context.tsx';

export function HomePage() {
  const api = useApi();
  const { user } = useAuth();
  const { demoVideoId } = useConfig();
  const { items } = useUploads();
  const unfinished = items.filter((i) => i.stage === 'interrupted').length;
  return (
    <Page title="Home" heading={user ? 'Welcome back' : 'Welcome to vodstack'} wide>
      <p className="lead">Upload your videos, and watch them play smoothly at the quality your network allows.</p>
      {unfinished > 0 && (
        <p className="notice">
          You have {unfinished === 1 ? 'an unfinished upload' : `${unfinished} unfinished uploads`}.{' '}
          <Link to="/upload">Resume uploading</Link>
        </p>
      )}
      <ul className="actions">
        {demoVideoId && (
          <li>
            <Link className="button" to={`/watch/${encodeURIComponent(demoVideoId)}`}>
              Watch the demo
            </Link>
          </li>
        )}
        {user ? (
          <>
            <li>
              <Link className="button primary" to="/upload">
                Start uploading
              </Link>
            </li>
            <li>
              <Link className="button" to="/videos">
                Manage your videos
              </Link>
            </li>
          </>
        ) : (
          <>
            <li>
              <Link className="button primary" to="/signup">
                Create an account
              </Link>
            </li>
            <li>
              <Link className="button" to="/login">
                I already have an account
              </Link>
            </li>
          </>
        )}
      </ul>
      {user && (
        <FeedRow
          title="Recommended for you"
          load={() => api.recommendations()}
          loadKey={`recommended:${user.id}`}
          empty="Watch a few videos, and recommendations for you will appear here."
        />
      )}
      <FeedRow title="Trending" load={() => api.trending()} loadKey={`trending:${user?.id ?? ''}`} empty="Nothing is trending yet. Upload a public video to get things going." />
    </Page>
  );
}
