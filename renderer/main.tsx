import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';
import { connectVisionApi } from './api/connect.js';
import { ApiProvider } from './api/context.js';
import { App } from './app/App.js';

const { api } = connectVisionApi();
const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks #root');
createRoot(root).render(
  <StrictMode>
    <ApiProvider api={api}>
      <App />
    </ApiProvider>
  </StrictMode>,
);
